// Captures the real protobuf bodies kubectl 1.32 sends for `create <kind>` against a tiny fake discovery
// server, decodes them, and compares with the JSON `kubectl create --dry-run=client -o json` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { decodeKubernetesProtobuf } from './protobuf.ts';

const res = (name: string, kind: string, namespaced: boolean) =>
  ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'get', 'list'] });
const V1 = { kind: 'APIResourceList', groupVersion: 'v1', resources: [
  res('namespaces', 'Namespace', false), res('configmaps', 'ConfigMap', true),
  res('secrets', 'Secret', true), res('serviceaccounts', 'ServiceAccount', true),
  res('services', 'Service', true)] };

test('kubectl create bodies decode to the same JSON as --dry-run=client', async (t) => {
  const home = mkdtempSync(path.join(tmpdir(), 'kubemu-pb-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const bodies: { type: string; body: Buffer }[] = [];
  const server = http.createServer((req, rsp) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = (req.url ?? '').split('?')[0];
      const send = (code: number, o: unknown) => { rsp.writeHead(code, { 'content-type': 'application/json' }); rsp.end(JSON.stringify(o)); };
      if (req.method === 'POST') {
        const body = Buffer.concat(chunks);
        bodies.push({ type: String(req.headers['content-type']), body });
        try { send(201, decodeKubernetesProtobuf(body)); } catch { send(400, { kind: 'Status', status: 'Failure', code: 400 }); }
      } else if (url === '/version') send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
      else if (url === '/api') send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
      else if (url === '/apis') send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [
        { name: 'batch', versions: [{ groupVersion: 'batch/v1', version: 'v1' }], preferredVersion: { groupVersion: 'batch/v1', version: 'v1' } },
        { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }] });
      else if (url === '/apis/batch/v1') send(200, { kind: 'APIResourceList', groupVersion: 'batch/v1', resources: [res('jobs', 'Job', true), res('cronjobs', 'CronJob', true)] });
      else if (url === '/apis/apps/v1') send(200, { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [res('deployments', 'Deployment', true)] });
      else if (url === '/api/v1') send(200, V1);
      else if (url === '/openapi/v2') { rsp.writeHead(200); rsp.end(); }
      else send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = path.join(home, 'config');
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\n` +
    `contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: c\nusers: [{name: u, user: {}}]\n`);
  const kubectl = (args: string[]) => new Promise<string>((resolve, reject) => {
    import('node:child_process').then(({ execFile }) => execFile('kubectl', ['--kubeconfig', kubeconfig, ...args],
      { env: { ...process.env, HOME: home } }, (err, out, errOut) => err ? reject(new Error(`${args.join(' ')}: ${errOut}`)) : resolve(out)));
  });
  const cases = [
    ['namespace', 'ns-pb'],
    ['configmap', 'cm-pb', '--from-literal=a=b', '--from-literal=c=d'],
    ['secret', 'generic', 's-pb', '--from-literal=user=admin', '--type=Opaque'],
    ['serviceaccount', 'sa-pb'],
    ['service', 'clusterip', 'svc-pb', '--tcp=80:8080', '--tcp=443:https'],
    ['service', 'nodeport', 'np-pb', '--tcp=80:8080', '--node-port=30080'],
    ['service', 'loadbalancer', 'lb-pb', '--tcp=80:80'],
    ['deployment', 'dep-pb', '--image=nginx:1.27', '--replicas=2', '--port=80'],
    ['secret', 'docker-registry', 'dr-pb', '--docker-username=u', '--docker-password=p', '--docker-server=r.local'],
    ['job', 'job-pb', '--image=busybox', '--', 'echo', 'hi'],
    ['cronjob', 'cj-pb', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date'],
    ['service', 'externalname', 'en-pb', '--external-name=example.com'],
  ];
  for (const c of cases) {
    const expected = JSON.parse(await kubectl(['create', '--dry-run=client', '-o', 'json', ...c]));
    bodies.length = 0;
    await kubectl(['create', ...c]);
    assert.equal(bodies.length, 1, `one POST for ${c[0]}`);
    assert.equal(bodies[0]!.type, 'application/vnd.kubernetes.protobuf');
    const got = decodeKubernetesProtobuf(bodies[0]!.body) as unknown as Record<string, unknown>;
    // creationTimestamp is null in kubectl's JSON (at every level) and absent after decoding.
    const exp = JSON.parse(JSON.stringify(expected, (k, v) => (k === 'creationTimestamp' && v === null ? undefined : v)));
    for (const k of ['apiVersion', 'kind', 'metadata', 'spec', 'data', 'type']) assert.deepEqual(got[k], exp[k], `${c[0]} ${k}`);
  }
});
