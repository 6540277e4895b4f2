// The official @kubernetes/client-node (1.x) against kubemu: its informer over pods sees every
// add, update and delete of 100 pods made through its own typed client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { testApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/until.ts';

const N = 100;


test('client-node informer sees every add, update and delete of 100 pods', async (t) => {
  const api = await testApiServer(t);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml({ server: api.url, token: 'client-node' }));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespace = 'informed';
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const added = new Set<string>();
  const updated = new Set<string>();
  const deleted = new Set<string>();
  const errors: unknown[] = [];
  const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
  informer.on('add', (p: k8s.V1Pod) => added.add(p.metadata!.name!));
  informer.on('update', (p: k8s.V1Pod) => { if (p.metadata?.labels?.round === 'two') updated.add(p.metadata.name!); });
  informer.on('delete', (p: k8s.V1Pod) => deleted.add(p.metadata!.name!));
  informer.on('error', (err: unknown) => errors.push(err));
  await informer.start();
  t.after(() => informer.stop());

  const names = Array.from({ length: N }, (_, i) => `pod-${String(i).padStart(3, '0')}`);
  for (const name of names) {
    await core.createNamespacedPod({ namespace, body: { metadata: { name, labels: { round: 'one' } }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }] } } });
  }
  await until(() => `adds (${added.size}/${N})`, () => added.size === N, 30_000, { everyMs: 50, retryErrors: false });
  for (const name of names) {
    await core.patchNamespacedPod({ namespace, name, body: { metadata: { labels: { round: 'two' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  }
  await until(() => `updates (${updated.size}/${N})`, () => updated.size === N, 30_000, { everyMs: 50, retryErrors: false });
  for (const name of names) await core.deleteNamespacedPod({ namespace, name });
  await until(() => `deletes (${deleted.size}/${N})`, () => deleted.size === N, 30_000, { everyMs: 50, retryErrors: false });

  assert.deepEqual([...added].sort(), names);
  assert.deepEqual([...updated].sort(), names);
  assert.deepEqual([...deleted].sort(), names);
  assert.equal(informer.list(namespace).length, 0);
  assert.deepEqual(errors, []);
});
