// Captures the real protobuf bodies kubectl 1.32 sends for `create <kind>` against a tiny fake discovery
// server, decodes them, and compares with the JSON `kubectl create --dry-run=client -o json` prints; then drives
// kubectl against a real apiserver for the bodies that lost fields before (create job --from=cronjob).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { decodeKubernetesProtobuf } from './protobuf.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { protobufBody } from '../../test/harness/protobuf-body.ts';

const res = (name: string, kind: string, namespaced: boolean) =>
  ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'get', 'list'] });
const V1 = { kind: 'APIResourceList', groupVersion: 'v1', resources: [
  res('namespaces', 'Namespace', false), res('configmaps', 'ConfigMap', true),
  res('secrets', 'Secret', true), res('serviceaccounts', 'ServiceAccount', true),
  res('services', 'Service', true), res('resourcequotas', 'ResourceQuota', true)] };

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
        try { send(201, decodeKubernetesProtobuf(body)); } catch (e) {
          send(415, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'UnsupportedMediaType', code: 415, message: (e as Error).message });
        }
      } else if (url === '/version') send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
      else if (url === '/api') send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
      else if (url === '/apis') send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [
        { name: 'batch', versions: [{ groupVersion: 'batch/v1', version: 'v1' }], preferredVersion: { groupVersion: 'batch/v1', version: 'v1' } },
        { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } },
        { name: 'policy', versions: [{ groupVersion: 'policy/v1', version: 'v1' }], preferredVersion: { groupVersion: 'policy/v1', version: 'v1' } },
        { name: 'scheduling.k8s.io', versions: [{ groupVersion: 'scheduling.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'scheduling.k8s.io/v1', version: 'v1' } }] });
      else if (url === '/apis/batch/v1') send(200, { kind: 'APIResourceList', groupVersion: 'batch/v1', resources: [res('jobs', 'Job', true), res('cronjobs', 'CronJob', true)] });
      else if (url === '/apis/policy/v1') send(200, { kind: 'APIResourceList', groupVersion: 'policy/v1', resources: [res('poddisruptionbudgets', 'PodDisruptionBudget', true)] });
      else if (url === '/apis/scheduling.k8s.io/v1') send(200, { kind: 'APIResourceList', groupVersion: 'scheduling.k8s.io/v1', resources: [res('priorityclasses', 'PriorityClass', false)] });
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
  // kubectl 1.32 (the dispatcher's choice for a v1.32 server) and 1.33 both send protobuf for these.
  const kubectlDir = path.dirname(realpathSync(execFileSync('which', ['kubectl']).toString().trim()));
  let bin = 'kubectl';
  const kubectl = (args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(bin === 'kubectl' ? bin : path.join(kubectlDir, bin), ['--kubeconfig', kubeconfig, ...args],
      { env: { ...process.env, HOME: home } }, (err, out, errOut) => err ? reject(new Error(`${args.join(' ')}: ${errOut}`)) : resolve(out));
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
    ['deployment', 'dep-zero', '--image=nginx:1.27', '--replicas=0'],
    ['secret', 'docker-registry', 'dr-pb', '--docker-username=u', '--docker-password=p', '--docker-server=r.local'],
    ['job', 'job-pb', '--image=busybox', '--', 'echo', 'hi'],
    ['cronjob', 'cj-pb', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date'],
    ['service', 'externalname', 'en-pb', '--external-name=example.com'],
    ['quota', 'q-pb', '--hard=pods=2,requests.cpu=500m,limits.memory=1Gi', '--scopes=NotBestEffort'],
    ['poddisruptionbudget', 'pdb-pb', '--selector=app=web', '--min-available=50%'],
    ['poddisruptionbudget', 'pdb-int', '--selector=app=web', '--max-unavailable=1'],
  ];
  for (const c of cases) for (bin of ['kubectl', 'kubectl.1.33']) {
    const expected = JSON.parse(await kubectl(['create', '--dry-run=client', '-o', 'json', ...c]));
    bodies.length = 0;
    await kubectl(['create', ...c]);
    assert.equal(bodies.length, 1, `one POST for ${c[0]}`);
    assert.equal(bodies[0]!.type, 'application/vnd.kubernetes.protobuf');
    const got = decodeKubernetesProtobuf(bodies[0]!.body) as unknown as Record<string, unknown>;
    // Nulls (creationTimestamp at every level) are in kubectl's JSON and absent after decoding: the same to Kubernetes.
    const exp = JSON.parse(JSON.stringify(expected, (_k, v) => (v === null ? undefined : v)));
    assert.deepEqual(got, exp, `${bin} create ${c.join(' ')}`);
  }
  // A kind kubemu does not serve (PriorityClass): the decoder refuses it whole with 415, which kubectl prints.
  bin = 'kubectl';
  bodies.length = 0;
  await assert.rejects(kubectl(['create', 'priorityclass', 'pc-pb', '--value=10']), /unknown format/);
  assert.equal(bodies.length, 1);
  assert.throws(() => decodeKubernetesProtobuf(bodies[0]!.body), { code: 'UnsupportedMediaType' });
});

test('against a real apiserver: create job --from=cronjob keeps the whole template, replicas 0, binary data, JSON answers', async (t) => {
  const api = await testApiServer(t);
  const home = mkdtempSync(path.join(tmpdir(), 'kubemu-pb-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const kubeconfig = path.join(home, 'config');
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${api.url}"}}]\n` +
    `contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n`);
  const kubectl = (args: string[]) => new Promise<{ out: string; err: string }>((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: home } },
      (e, out, err) => (e ? reject(new Error(`kubectl ${args.join(' ')}: ${err}`)) : resolve({ out, err })));
  });
  const get = async (p: string) => (await fetch(`${api.url}${p}`)).json() as Promise<any>;

  const cron = {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: 'default' },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { backoffLimit: 0, template: {
      metadata: { labels: { app: 'report' } },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'script', configMap: { name: 'scripts', defaultMode: 0o755 } }, { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
        securityContext: { runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000, supplementalGroups: [3000] },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
        tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }],
        containers: [{
          name: 'run', image: 'busybox', command: ['sh', '/script/run.sh'],
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'pw', optional: true } } }],
          resources: { limits: { memory: '64Mi', cpu: '250m' }, requests: { memory: '32Mi' } },
          volumeMounts: [{ name: 'script', mountPath: '/script', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
          livenessProbe: { exec: { command: ['true'] }, periodSeconds: 7 },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, initialDelaySeconds: 1 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        }],
      },
    } } } },
  };
  writeFileSync(path.join(home, 'cron.json'), JSON.stringify(cron));
  await kubectl(['create', '-f', path.join(home, 'cron.json')]); // JSON
  const created = await kubectl(['create', 'job', 'report-now', '--from=cronjob/report', '-v=8']); // protobuf
  assert.match(created.err, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  const stored = await get('/apis/batch/v1/namespaces/default/cronjobs/report');
  const job = await get('/apis/batch/v1/namespaces/default/jobs/report-now');
  assert.deepEqual(job.spec.template.spec, stored.spec.jobTemplate.spec.template.spec);
  assert.deepEqual(job.spec.template.spec.volumes.map((v: any) => v.name), ['script', 'tmp']);
  assert.equal(job.spec.backoffLimit, 0);
  assert.equal(job.spec.template.spec.tolerations[0].tolerationSeconds, 0);

  await kubectl(['create', 'deployment', 'idle', '--image=nginx', '--replicas=0']);
  assert.equal((await get('/apis/apps/v1/namespaces/default/deployments/idle')).spec.replicas, 0);

  const blob = Buffer.from([0, 1, 0xfe, 0xff, 0x80, 0x0a, 0x0d]);
  writeFileSync(path.join(home, 'blob'), blob);
  await kubectl(['create', 'secret', 'generic', 'bin', `--from-file=blob=${path.join(home, 'blob')}`, '--from-literal=empty=']);
  assert.deepEqual((await get('/api/v1/namespaces/default/secrets/bin')).data, { blob: blob.toString('base64'), empty: '' });

  // The apiserver answers protobuf requests in JSON, errors as a Status.
  const post = (body: Buffer) => fetch(`${api.url}/api/v1/namespaces/default/configmaps`, {
    method: 'POST', body, headers: { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf, application/json' } });
  const ok = await post(protobufBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pb' }, data: { a: 'b' } }));
  assert.equal(ok.status, 201);
  assert.match(ok.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(((await ok.json()) as any).data, { a: 'b' });
  // ConfigMap field 99 (varint 1): not in Kubernetes' ConfigMap, so not decodable whole.
  const refused = await post(protobufBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pb2' } }, Buffer.from([0x98, 0x06, 0x01])));
  assert.equal(refused.status, 415);
  const status = await refused.json() as any;
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'UnsupportedMediaType');
  assert.match(status.message, /^the body of the request was in an unknown format - accepted media types include: application\/json, application\/yaml \(field 99 of k8s\.io\.api\.core\.v1\.ConfigMap/);
  assert.equal((await fetch(`${api.url}/api/v1/namespaces/default/configmaps/pb2`)).status, 404);
});
