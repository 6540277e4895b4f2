// A pod reaches the API as itself, as in Kubernetes: the ServiceAccount admission plugin mounts a bound token, the
// cluster CA (kube-root-ca.crt) and the namespace at /var/run/secrets/kubernetes.io/serviceaccount; curl in the pod
// lists its namespace's pods at https://kubernetes.default.svc with verification on, and the official Python client's
// in-cluster loader does the same with those files over the `kubernetes` Service's ClusterIP; once the pod is deleted
// its token is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { adminTls } from '../../launcher/pki.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';

const NAME = `incl${process.pid % 10000}`;
const MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const NS = 'in-cluster';
const POD = `apiVersion: v1
kind: Pod
metadata: { name: caller, namespace: ${NS} }
spec:
  serviceAccountName: reader
  containers:
  - name: curl
    image: kubemu/curl:1
    command: [sh, -c, 'sleep 100000']
`;

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  execFile(cmd, args, { timeout: 60_000, env: env ?? process.env }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

describe('in-cluster: a pod\'s mounted ServiceAccount token over TLS', { timeout: 240_000 }, () => {
  let c: KubemuCluster;
  let token = '';
  before(async () => {
    c = await startCluster(NAME, ['--nodes', '1']);
    await c.kubectl('create', 'namespace', NS);
    await c.kubectl('-n', NS, 'create', 'serviceaccount', 'reader');
    const file = path.join(c.dir, 'caller.yaml');
    fs.writeFileSync(file, POD);
    await c.kubectl('apply', '-f', file);
    await c.kubectl('-n', NS, 'wait', '--for=condition=Ready', 'pod/caller', '--timeout=120s');
  });
  after(() => c?.down());

  test('the volume holds a token bound to the pod, the cluster CA and the namespace', async () => {
    const files = await c.kubectl('-n', NS, 'exec', 'caller', '--', 'ls', MOUNT);
    assert.deepEqual(files.trim().split(/\s+/).sort(), ['ca.crt', 'namespace', 'token']);
    assert.equal((await c.kubectl('-n', NS, 'exec', 'caller', '--', 'cat', `${MOUNT}/namespace`)).trim(), NS);
    assert.equal((await c.kubectl('-n', NS, 'exec', 'caller', '--', 'cat', `${MOUNT}/ca.crt`)).trim(), adminTls(c.dir)!.ca!.trim());
    token = (await c.kubectl('-n', NS, 'exec', 'caller', '--', 'cat', `${MOUNT}/token`)).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, `system:serviceaccount:${NS}:reader`);
    assert.equal(claims['kubernetes.io'].pod.name, 'caller');
  });

  test('curl in the pod lists its namespace\'s pods at https://kubernetes.default.svc, verification on', async () => {
    const out = await c.kubectl('-n', NS, 'exec', 'caller', '--', 'sh', '-c',
      `curl -sS --fail --cacert ${MOUNT}/ca.crt -H "Authorization: Bearer $(cat ${MOUNT}/token)" https://kubernetes.default.svc/api/v1/namespaces/$(cat ${MOUNT}/namespace)/pods`);
    const list = JSON.parse(out);
    assert.equal(list.kind, 'PodList');
    assert.deepEqual(list.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['caller']);
    // Without the token: 401, as anywhere else.
    const anon = await c.kubectl('-n', NS, 'exec', 'caller', '--', 'sh', '-c', `curl -sS -o /dev/null -w '%{http_code}' --cacert ${MOUNT}/ca.crt https://kubernetes.default.svc/api/v1/namespaces/${NS}/pods`);
    assert.equal(anon.trim(), '401');
  });

  test('the Python client\'s in-cluster config, with the pod\'s token and CA, lists the pods over the kubernetes ClusterIP', async () => {
    const dir = fs.mkdtempSync(path.join(c.dir, 'sa-'));
    fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'ca.crt'), adminTls(c.dir)!.ca!);
    const clusterIP = (await c.kubectl('get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    const py = await run('/usr/bin/python3', ['-c', [
      'import sys', 'from kubernetes import client', 'from kubernetes.config.incluster_config import InClusterConfigLoader',
      `InClusterConfigLoader(token_filename=sys.argv[1] + '/token', cert_filename=sys.argv[1] + '/ca.crt').load_and_set()`,
      `print(",".join(p.metadata.name for p in client.CoreV1Api().list_namespaced_pod("${NS}").items))`,
    ].join('\n'), dir], { ...process.env, KUBERNETES_SERVICE_HOST: clusterIP, KUBERNETES_SERVICE_PORT: '443' });
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'caller');
  });

  test('the token stops working when the pod is deleted', async () => {
    const url = `${c.state().apiserver}/api/v1/namespaces/${NS}/pods`;
    const ca = { ca: adminTls(c.dir)!.ca };
    assert.equal((await tlsFetch(url, { headers: { authorization: `Bearer ${token}` } }, ca)).status, 200);
    await c.kubectl('-n', NS, 'delete', 'pod', 'caller', '--grace-period=1', '--wait=true');
    await until('the deleted pod\'s token refused', async () => (await tlsFetch(url, { headers: { authorization: `Bearer ${token}` } }, ca)).status === 401, 30_000);
  });
});
