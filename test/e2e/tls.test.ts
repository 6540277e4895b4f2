// The API over TLS with x509 identities: an apiserver with a serving certificate and a client CA, as `kubemu up`
// starts it. curl without credentials gets 401 except on /version and the health endpoints; the real kubectl
// (1.27, 1.32, 1.33), client-node and the Python client connect with verification on using a kubeconfig that
// carries the CA and a client certificate; a wrong CA, a certificate of another CA and an expired one are refused;
// gRPC takes the same certificates; the insecure port (learning only) is plain HTTP on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { createApiClient } from '../../client/index.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { createCA, issueCertificate, issueExpiredCertificate, type KeyPair } from '../../lib/pki.ts';

const KUBECTL_DIR = path.dirname(fs.realpathSync(path.join((process.env.PATH ?? '').split(':').find((d) => fs.existsSync(path.join(d, 'kubectl')))!, 'kubectl')));
const NS = { group: '', resource: 'namespaces' };

type Run = { code: number; stdout: string; stderr: string };
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => new Promise<Run>((resolve) => {
  execFile(cmd, args, { timeout: 60_000, env }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

describe('the API over TLS: x509 client certificates, verification on, 401 without credentials', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let ca: KeyPair;
  let admin: KeyPair;
  let dir: string;
  const file = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text, { mode: 0o600 }); return f; };
  const kubeconfig = (name: string, o: { ca?: string; cert?: KeyPair }) =>
    file(name, kubeconfigYaml({ server: api.url, ca: o.ca, clientCertificate: o.cert?.cert, clientKey: o.cert?.key }));
  const curl = (p: string, ...args: string[]) => run('curl', ['-sS', '--cacert', path.join(dir, 'ca.crt'), '-w', '\n%{http_code}', ...args, `${api.url}${p}`]);

  before(async () => {
    ca = await createCA();
    const serving = await issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
    admin = await issueCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
    api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { tls: { cert: serving.cert, key: serving.key, clientCA: ca.cert }, insecurePort: 0 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-tls-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    file('ca.crt', ca.cert);
    file('admin.crt', admin.cert);
    file('admin.key', admin.key);
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('curl without credentials: 401 with Kubernetes\' Status on /api/v1/pods, 200 on /version and /healthz', async () => {
    assert.match(api.url, /^https:\/\//);
    const pods = await curl('/api/v1/pods');
    const [body, code] = [pods.stdout.slice(0, pods.stdout.lastIndexOf('\n')), pods.stdout.slice(pods.stdout.lastIndexOf('\n') + 1)];
    assert.equal(code, '401', pods.stdout + pods.stderr);
    assert.deepEqual(JSON.parse(body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    for (const p of ['/version', '/healthz', '/livez', '/readyz']) assert.match((await curl(p)).stdout, /\n200$/, p);
    // With the admin certificate the same request is answered.
    assert.match((await curl('/api/v1/pods', '--cert', path.join(dir, 'admin.crt'), '--key', path.join(dir, 'admin.key'))).stdout, /"kind": "PodList"[\s\S]*\n200$/);
  });

  test('the kubeconfig\'s certificate works with kubectl 1.27, 1.32 and 1.33, verification on', async () => {
    const kc = kubeconfig('admin.kubeconfig', { ca: ca.cert, cert: admin });
    assert.doesNotMatch(fs.readFileSync(kc, 'utf8'), /insecure-skip-tls-verify/);
    for (const v of ['1.27', '1.32', '1.33']) {
      const r = await run(path.join(KUBECTL_DIR, `kubectl.${v}`), ['--kubeconfig', kc, 'create', 'namespace', `tls-${v.replace('.', '-')}`]);
      assert.equal(r.code, 0, `kubectl ${v}: ${r.stderr}`);
    }
    const whoami = await run(path.join(KUBECTL_DIR, 'kubectl.1.33'), ['--kubeconfig', kc, 'auth', 'whoami', '-o', 'json']);
    assert.equal(whoami.code, 0, whoami.stderr);
    const info = JSON.parse(whoami.stdout).status.userInfo;
    assert.equal(info.username, 'kubernetes-admin');
    assert.ok(info.groups.includes('system:masters'), JSON.stringify(info));
  });

  test('a wrong CA fails verification; a certificate of another CA and an expired one are 401', async () => {
    const other = await createCA();
    const wrongCa = await run('kubectl', ['--kubeconfig', kubeconfig('wrong-ca.kubeconfig', { ca: other.cert, cert: admin }), 'get', 'ns']);
    assert.notEqual(wrongCa.code, 0);
    assert.match(wrongCa.stderr, /x509: certificate signed by unknown authority/);
    const foreign = await issueCertificate(other, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
    const expired = await issueExpiredCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
    for (const [name, cert] of [['foreign', foreign], ['expired', expired]] as const) {
      const r = await run('kubectl', ['--kubeconfig', kubeconfig(`${name}.kubeconfig`, { ca: ca.cert, cert }), 'get', 'ns']);
      assert.notEqual(r.code, 0, name);
      // kubectl's words for a 401.
      assert.match(r.stderr, /You must be logged in to the server \(the server has asked for the client to provide credentials\)/, `${name}: ${r.stderr}`);
    }
    // A server certificate is not a client identity, even from the cluster CA.
    const serverOnly = await issueCertificate(ca, { commonName: 'kubernetes-admin', usage: 'server' });
    assert.match((await curl('/api/v1/pods', '--cert', file('server-only.crt', serverOnly.cert), '--key', file('server-only.key', serverOnly.key))).stdout, /\n401$/);
    // Nothing else was disturbed: the admin still gets in.
    assert.equal((await run('kubectl', ['--kubeconfig', path.join(dir, 'admin.kubeconfig'), 'get', 'ns', 'default', '-o', 'name'])).stdout.trim(), 'namespace/default');
  });

  test('client-node and the Python client connect with the kubeconfig, verification on', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path.join(dir, 'admin.kubeconfig'));
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
    const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespace();
    assert.ok(list.items.some((n) => n.metadata?.name === 'tls-1-32'));
    const py = await run('/usr/bin/python3', ['-c', [
      'import sys', 'from kubernetes import client, config', 'config.load_kube_config(sys.argv[1])',
      'print(",".join(n.metadata.name for n in client.CoreV1Api().list_namespace().items))',
    ].join('\n'), path.join(dir, 'admin.kubeconfig')]);
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /tls-1-33/);
  });

  test('gRPC is TLS with the same client certificates; none or another CA\'s is Unauthorized', async () => {
    const ok = createApiClient({ transport: 'grpc', server: api.grpcAddress, tls: { ca: ca.cert, cert: admin.cert, key: admin.key } });
    const none = createApiClient({ transport: 'grpc', server: api.grpcAddress, tls: { ca: ca.cert } });
    const other = await createCA();
    const foreignCert = await issueCertificate(other, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
    const foreign = createApiClient({ transport: 'grpc', server: api.grpcAddress, tls: { ca: ca.cert, cert: foreignCert.cert, key: foreignCert.key } });
    const plain = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    try {
      assert.equal((await ok.get(NS, undefined, 'default')).metadata.name, 'default');
      await assert.rejects(none.get(NS, undefined, 'default'), (e: any) => e.code === 'Unauthorized');
      await assert.rejects(foreign.get(NS, undefined, 'default'), (e: any) => e.code === 'Unauthorized');
      await assert.rejects(plain.get(NS, undefined, 'default'), (e: any) => e.code === 'ServiceUnavailable');
    } finally { for (const c of [ok, none, foreign, plain]) c.close(); }
    // The REST client the components use over https.
    const http = createApiClient({ transport: 'http', server: api.url, tls: { ca: ca.cert, cert: admin.cert, key: admin.key } });
    try { assert.equal((await http.get(NS, undefined, 'default')).metadata.name, 'default'); } finally { http.close(); }
  });

  test('the insecure port, asked for explicitly, is plain HTTP on 127.0.0.1 where every request is the admin', async () => {
    assert.match(api.insecureUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${api.insecureUrl}/api/v1/namespaces/default`);
    assert.equal(res.status, 200);
  });
});
