// The ServiceAccount admission plugin through a real apiserver over a real etcd: the default account, the
// kube-api-access volume and its mounts, automountServiceAccountToken (pod wins), a missing account refused with
// Kubernetes' message, and mirror pods left alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { TOKEN_MOUNT_PATH, tokenVolumeSource } from './service-account.ts';

const PODS = { group: '', resource: 'pods' };
const SA = { group: '', resource: 'serviceaccounts' };
type Obj = Record<string, any>;

const pod = (name: string, spec: Obj = {}, metadata: Obj = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, ...metadata },
  spec: { containers: [{ name: 'app', image: 'kubemu/hello:1' }], ...spec },
});

describe('ServiceAccount admission', () => {
  const cleanups: Array<() => unknown> = [];
  let client: ApiClient;
  before(async () => {
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { disableAdmissionPlugins: [] });
    client = createApiClient({ transport: 'http', server: api.url });
    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } });
    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'quiet', namespace: 'default' }, automountServiceAccountToken: false } as never);
  });
  after(async () => { await client?.close(); for (const fn of cleanups.reverse()) await fn(); });

  test('a pod naming no account runs as default, with the token volume mounted read-only in every container', async () => {
    const p = await client.create(PODS, 'default', pod('plain', {
      initContainers: [{ name: 'init', image: 'kubemu/hello:1' }],
      containers: [{ name: 'app', image: 'kubemu/hello:1' }, { name: 'own', image: 'kubemu/hello:1', volumeMounts: [{ name: 'mine', mountPath: TOKEN_MOUNT_PATH }] }],
      volumes: [{ name: 'mine', emptyDir: {} }],
    }));
    const spec = p.spec as Obj;
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.serviceAccount, 'default');
    const vol = spec.volumes.find((v: Obj) => v.name.startsWith('kube-api-access-'));
    assert.match(vol.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(vol.projected, tokenVolumeSource());
    assert.equal(vol.projected.sources[0].serviceAccountToken.expirationSeconds, 3607);
    const mount = { name: vol.name, readOnly: true, mountPath: TOKEN_MOUNT_PATH };
    assert.deepEqual(spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(spec.containers[0].volumeMounts, [mount]);
    // A container with its own mount at the path keeps it.
    assert.deepEqual(spec.containers[1].volumeMounts, [{ name: 'mine', mountPath: TOKEN_MOUNT_PATH }]);
  });

  test('the deprecated serviceAccount field names the account when serviceAccountName is empty', async () => {
    const p = await client.create(PODS, 'default', pod('old-field', { serviceAccount: 'quiet' }));
    assert.equal((p.spec as Obj).serviceAccountName, 'quiet');
    assert.equal((p.spec as Obj).serviceAccount, 'quiet');
  });

  test('automountServiceAccountToken: the ServiceAccount\'s false turns the volume off, the pod\'s choice wins', async () => {
    const off = await client.create(PODS, 'default', pod('sa-off', { serviceAccountName: 'quiet' }));
    assert.equal((off.spec as Obj).volumes, undefined);
    assert.equal((off.spec as Obj).containers[0].volumeMounts, undefined);
    const podOn = await client.create(PODS, 'default', pod('pod-on', { serviceAccountName: 'quiet', automountServiceAccountToken: true }));
    assert.ok((podOn.spec as Obj).volumes.some((v: Obj) => v.name.startsWith('kube-api-access-')));
    const podOff = await client.create(PODS, 'default', pod('pod-off', { automountServiceAccountToken: false }));
    assert.equal((podOff.spec as Obj).volumes, undefined);
    assert.equal((podOff.spec as Obj).serviceAccountName, 'default');
  });

  test('a pod of an account that does not exist is forbidden with Kubernetes\' message', async () => {
    await assert.rejects(client.create(PODS, 'default', pod('ghost', { serviceAccountName: 'nobody' })), (err: Obj) => {
      assert.equal(err.code, 'Forbidden');
      assert.equal(err.message, 'pods "ghost" is forbidden: error looking up service account default/nobody: serviceaccount "nobody" not found');
      return true;
    });
    // A generated name is not made yet: the message names the prefix.
    await assert.rejects(client.create(PODS, 'default', { ...pod(''), metadata: { generateName: 'web-' }, spec: { serviceAccountName: 'nobody', containers: [{ name: 'a', image: 'x' }] } }),
      /pods "web-" is forbidden: error looking up service account default\/nobody/);
  });

  test('mirror pods are left alone, and may not use a ServiceAccount or a token projection', async () => {
    const mirror = { 'kubernetes.io/config.mirror': 'abc' };
    const p = await client.create(PODS, 'default', pod('static-web', {}, { annotations: mirror }));
    assert.equal((p.spec as Obj).serviceAccountName, undefined);
    assert.equal((p.spec as Obj).volumes, undefined);
    await assert.rejects(client.create(PODS, 'default', pod('static-sa', { serviceAccountName: 'default' }, { annotations: mirror })),
      /pods "static-sa" is forbidden: a mirror pod may not reference service accounts/);
    await assert.rejects(client.create(PODS, 'default', pod('static-token', { volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }] }, { annotations: mirror })),
      /a mirror pod may not use ServiceAccountToken volume projections/);
  });
});
