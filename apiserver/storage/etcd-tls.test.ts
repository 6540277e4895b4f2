// The apiserver over an etcd that takes only TLS with client certificates of its own CA (as the compose stack
// runs it): the certificates launcher/pki.ts makes (ensureEtcdPki), a real etcd with --client-cert-auth, the
// apiserver's store with --etcd-cafile/--etcd-certfile/--etcd-keyfile, and componentstatuses asking etcd's
// /health with the same certificate. Without a client certificate, or with one of another CA, etcd refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/free-port.ts';
import { etcdBinary, ETCD_MISSING } from '../../lib/etcd-process.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';
import { ensureClusterPki, ensureEtcdPki, pkiDir } from '../../launcher/pki.ts';
import { startApiServer, type RunningApiServer } from '../server.ts';
import { EtcdStore, type EtcdClientTls } from './etcd-store.ts';
import { until } from '../../test/harness/until.ts';

describe('etcd over TLS with client certificates', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-etcd-tls-'));
  const pki = pkiDir(dir);
  const read = (f: string) => fs.readFileSync(path.join(pki, f), 'utf8');
  let etcd: ChildProcess;
  let endpoint: string;
  let client: EtcdClientTls;
  let api: RunningApiServer | undefined;

  before(async () => {
    const bin = etcdBinary();
    assert.ok(bin, ETCD_MISSING);
    await ensureClusterPki(dir, { kubernetesServiceIP: '10.96.0.1' });
    await ensureEtcdPki(dir, { ipAddresses: ['127.0.0.1'] });
    client = { ca: read('etcd/ca.crt'), cert: read('apiserver-etcd-client.crt'), key: read('apiserver-etcd-client.key') };
    const [c, p] = [await freePort(), await freePort()];
    endpoint = `https://127.0.0.1:${c}`;
    const f = (n: string) => path.join(pki, n);
    const log = fs.openSync(path.join(dir, 'etcd.log'), 'a');
    etcd = spawn(bin, ['--name', 'default', '--data-dir', path.join(dir, 'data'), '--log-level', 'warn',
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `https://127.0.0.1:${p}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${p}`, '--initial-cluster', `default=https://127.0.0.1:${p}`,
      '--client-cert-auth', '--trusted-ca-file', f('etcd/ca.crt'), '--cert-file', f('etcd/server.crt'), '--key-file', f('etcd/server.key'),
      '--peer-client-cert-auth', '--peer-trusted-ca-file', f('etcd/ca.crt'), '--peer-cert-file', f('etcd/peer.crt'), '--peer-key-file', f('etcd/peer.key'),
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await until('etcd healthy over TLS', async () => (await tlsFetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) }, client).catch(() => undefined))?.ok === true, 20_000);
  });

  after(async () => {
    await api?.close();
    if (etcd.exitCode === null) {
      etcd.kill('SIGTERM');
      await new Promise((r) => etcd.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the apiserver stores and reads through it; componentstatuses reports etcd-0 healthy over TLS', async () => {
    api = await startApiServer({ etcdEndpoints: [endpoint], etcdTls: client, port: 0, grpcPort: 0, compactionIntervalMs: 0 });
    const created = await fetch(`${api.url}/api/v1/namespaces`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'over-tls' } }) });
    assert.equal(created.status, 201, await created.text());
    assert.equal((await fetch(`${api.url}/api/v1/namespaces/over-tls`)).status, 200);
    const cs = await (await fetch(`${api.url}/api/v1/componentstatuses/etcd-0`)).json() as any;
    assert.equal(cs.conditions[0].status, 'True', JSON.stringify(cs));
    assert.match(cs.conditions[0].message, /"health":\s*"true"/);
  });

  test('etcd refuses a client without a certificate, and one with a certificate of the cluster CA', async () => {
    for (const [what, tls] of [['no certificate', { ca: client.ca }], ['the cluster CA\'s admin certificate', { ca: client.ca, cert: read('admin.crt'), key: read('admin.key') }]] as const) {
      const store = new EtcdStore({ endpoints: [endpoint], tls });
      try {
        await assert.rejects(store.get('/registry/namespaces/over-tls'), /alert bad certificate/, what);
      } finally {
        store.client.close();
      }
      await assert.rejects(tlsFetch(`${endpoint}/health`, { signal: AbortSignal.timeout(3000) }, tls), what);
    }
    // A plain-HTTP client gets nothing either.
    await assert.rejects(fetch(`${endpoint.replace('https:', 'http:')}/health`, { signal: AbortSignal.timeout(3000) }).then(async (r) => { if (!r.ok) throw new Error(String(r.status)); return r; }));
  });

  test('flags: --etcd-cafile wants https:// servers, --etcd-certfile and --etcd-keyfile go together and need the CA', async () => {
    const main = path.join(import.meta.dirname, '..', 'main.ts');
    const run = (...args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', main, ...args], { timeout: 30_000 }, (err, _out, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }));
    });
    const plain = await run('--etcd-servers', 'http://127.0.0.1:2379', '--etcd-cafile', path.join(pki, 'etcd/ca.crt'));
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /--etcd-cafile: every --etcd-servers URL must be https:\/\//);
    const half = await run('--etcd-servers', endpoint, '--etcd-certfile', path.join(pki, 'apiserver-etcd-client.crt'));
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--etcd-certfile and --etcd-keyfile go together/);
    assert.match(half.stderr, /--etcd-certfile needs --etcd-cafile/);
  });
});
