// A real pod (Docker) with its ServiceAccount volume, end to end: the ServiceAccount admission plugin adds the
// kube-api-access volume, the controller manager makes the default ServiceAccount and publishes kube-root-ca.crt from
// --root-ca-file (a CA made here with openssl), the kubelet asks for a token bound to the pod and writes token, ca.crt
// and namespace. The token read inside the container authenticates (a TokenReview and a bearer request) until the
// pod is deleted; automountServiceAccountToken: false mounts nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ControllerManager } from '../../controller-manager/manager.ts';
import { silentLogger } from '../../lib/logger.ts';
import { dockerKubelet, until, type DockerKubelet } from '../harness/docker-kubelet.ts';

const run = promisify(execFile);
const PODS = { group: '', resource: 'pods' };
const SA = { group: '', resource: 'serviceaccounts' };
const MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

describe('the mounted ServiceAccount token in a real pod', () => {
  const cleanups: Array<() => unknown> = [];
  let k: DockerKubelet;
  let ca: string;
  const exec = (pod: string, ...cmd: string[]) => k.kubectl(['exec', pod, '--', ...cmd]);
  const review = async (token: string) => (await k.client.create({ group: 'authentication.k8s.io', resource: 'tokenreviews' }, undefined,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token } } as never) as any).status;
  const pod = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { nodeName: k.node, terminationGracePeriodSeconds: 0, containers: [{ name: 'sh', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }], ...extra },
  });
  const running = (name: string) => until(`${name} running`, async () => (await k.client.get(PODS, 'default', name)).status?.containerStatuses?.[0]?.state?.running, 60_000);

  before(async () => {
    k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'samount', api: { disableAdmissionPlugins: [] } });
    const caFile = path.join(k.rootDir, 'test-ca.crt');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test', '-days', '1',
      '-keyout', path.join(k.rootDir, 'test-ca.key'), '-out', caFile]);
    ca = fs.readFileSync(caFile, 'utf8');
    const stop = new AbortController();
    const cm = new ControllerManager({ client: k.client, logger: silentLogger(), controllers: ['serviceaccount', 'root-ca-cert-publisher'], timings: { rootCA: ca } }).run(stop.signal);
    cleanups.push(async () => { stop.abort(); await cm; });
    await until('the default ServiceAccount', () => k.client.get(SA, 'default', 'default').catch(() => undefined));
    await until('kube-root-ca.crt', () => k.client.get({ group: '', resource: 'configmaps' }, 'default', 'kube-root-ca.crt').catch(() => undefined));
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('token, ca.crt and namespace are in the container, and the token is the pod\'s', async () => {
    const created = await k.client.create(PODS, 'default', pod('with-token'));
    const vol = (created.spec as any).volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol, 'the admission plugin added the volume');
    await running('with-token');
    assert.equal(await exec('with-token', 'cat', `${MOUNT}/namespace`), 'default');
    assert.equal(await exec('with-token', 'cat', `${MOUNT}/ca.crt`), ca);
    const listing = await exec('with-token', 'ls', '-a', MOUNT);
    assert.ok(listing.includes('..data'), 'written by the atomic writer');
    const token = await exec('with-token', 'cat', `${MOUNT}/token`);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'with-token', uid: created.metadata.uid });
    assert.equal(claims.exp - claims.iat, 3607);
    const env = await exec('with-token', 'env');
    assert.match(env, /^KUBERNETES_SERVICE_HOST=/m);
    assert.match(env, /^KUBERNETES_SERVICE_PORT=/m);

    const r = await review(token);
    assert.equal(r.authenticated, true);
    assert.equal(r.user.username, 'system:serviceaccount:default:default');
    assert.deepEqual(r.user.extra['authentication.kubernetes.io/pod-name'], ['with-token']);
    // As a bearer credential: the API answers as the ServiceAccount.
    const who = await fetch(`${k.api.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    assert.equal(who.status, 201);
    assert.equal(((await who.json()) as any).status.userInfo.username, 'system:serviceaccount:default:default');

    await k.client.delete(PODS, 'default', 'with-token', { gracePeriodSeconds: 0 });
    await until('the pod gone', async () => !(await k.client.get(PODS, 'default', 'with-token').catch(() => undefined)));
    const afterDelete = await review(token);
    assert.notEqual(afterDelete.authenticated, true, 'the token ends with its pod');
  });

  test('automountServiceAccountToken: false mounts nothing', async () => {
    const created = await k.client.create(PODS, 'default', pod('no-token', { automountServiceAccountToken: false }));
    assert.equal((created.spec as any).volumes, undefined);
    await running('no-token');
    await assert.rejects(exec('no-token', 'ls', MOUNT));
    await k.client.delete(PODS, 'default', 'no-token', { gracePeriodSeconds: 0 });
  });
});
