// The registry's Kubernetes rules over a real etcd (EtcdStore), one test per rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject, WatchEvent } from '../../api/types.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testEtcd } from '../../test/harness/etcd.ts';
import { allowAll } from '../auth/authorizer.ts';
import { EtcdStore } from '../storage/etcd-store.ts';
import { createRegistry } from './index.ts';
import type { ApiWatch, RequestContext } from './types.ts';

const ctx: RequestContext = { user: { username: 'test', groups: ['system:masters'] } };
const R = (resource: string, group = '') => findResource(group, resource) as ResourceInfo;
const pods = R('pods'), cms = R('configmaps'), svcs = R('services'), deps = R('deployments', 'apps'), nss = R('namespaces');

const pod = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }], ...extra } });

async function next(w: ApiWatch, n: number, ms = 30_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const t = setTimeout(() => w.close(), ms);
  try {
    while (out.length < n) { const r = await it.next(); if (r.done) break; out.push(r.value); }
  } finally { clearTimeout(t); }
  return out;
}

describe('registry over a real etcd', () => {
  const cleanups: Array<() => unknown> = [];
  let store: EtcdStore;
  let reg: ReturnType<typeof createRegistry>;
  before(async () => {
    const etcd = await testEtcd({ after: (fn) => cleanups.push(fn) });
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
    reg = createRegistry({ store, authorizer: allowAll(), serviceClusterIPRange: '10.96.0.0/28', nodePortRange: [30000, 30004], logger: silentLogger(), disableAdmissionPlugins: ['ServiceAccount'] });
    await reg.bootstrap();
  });
  after(async () => { reg.close(); await store.close(); for (const fn of cleanups) await fn(); });

  test('bootstrap: default namespaces and the kubernetes service', async () => {
    const list = await reg.list(ctx, { info: nss }, {});
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(list.items.some((i) => i.metadata.name === n), n);
    const k = await reg.get(ctx, { info: svcs, namespace: 'default', name: 'kubernetes' });
    assert.equal(k.spec.clusterIP, '10.96.0.1');
  });

  test('create sets uid, creationTimestamp, kind; defaults and pod status; AlreadyExists message', async () => {
    const p = await reg.create(ctx, { info: pods, namespace: 'default' }, pod('web'));
    assert.equal(p.kind, 'Pod');
    assert.match(p.metadata.uid!, /^[0-9a-f-]{36}$/);
    assert.ok(p.metadata.creationTimestamp);
    assert.equal(p.spec.restartPolicy, 'Always');
    assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'BestEffort' });
    await assert.rejects(reg.create(ctx, { info: pods, namespace: 'default' }, pod('web')), { code: 'AlreadyExists', message: 'pods "web" already exists' });
  });

  test('invalid objects → 422 with field causes; missing namespace → 404', async () => {
    const bad = pod('Bad_Name');
    bad.spec.containers[0].image = '';
    await assert.rejects(reg.create(ctx, { info: pods, namespace: 'default' }, bad), (err: any) => {
      assert.equal(err.code, 'Invalid');
      assert.match(err.message, /^Pod "Bad_Name" is invalid: \[metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
      assert.ok(err.details.causes.some((c: any) => c.field === 'spec.containers[0].image' && c.message === 'Required value'));
      return true;
    });
    await assert.rejects(reg.create(ctx, { info: cms, namespace: 'nope' }, { metadata: { name: 'x' } }), { code: 'NotFound', message: 'namespaces "nope" not found' });
  });

  test('generateName appends 5 random characters', async () => {
    const a = await reg.create(ctx, { info: cms, namespace: 'default' }, { metadata: { generateName: 'gen-' } });
    assert.match(a.metadata.name!, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test('update: stale resourceVersion → Conflict; generation bumps on spec change only', async () => {
    const d = await reg.create(ctx, { info: deps, namespace: 'default' }, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dep' },
      spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
    });
    assert.equal(d.metadata.generation, 1);
    const labelled = await reg.update(ctx, { info: deps, namespace: 'default', name: 'dep' }, { ...d, metadata: { ...d.metadata, labels: { a: 'b' } } });
    assert.equal(labelled.metadata.generation, 1);
    const scaled = await reg.update(ctx, { info: deps, namespace: 'default', name: 'dep' }, { ...labelled, spec: { ...labelled.spec, replicas: 3 } });
    assert.equal(scaled.metadata.generation, 2);
    await assert.rejects(reg.update(ctx, { info: deps, namespace: 'default', name: 'dep' }, d), {
      code: 'Conflict', message: 'Operation cannot be fulfilled on deployments.apps "dep": the object has been modified; please apply your changes to the latest version and try again',
    });
    // The status subresource changes status only; the main PUT keeps the stored status.
    const st = await reg.update(ctx, { info: deps, namespace: 'default', name: 'dep', subresource: 'status' }, { ...scaled, spec: { ...scaled.spec, replicas: 9 }, status: { replicas: 3 } });
    assert.equal(st.spec.replicas, 3);
    assert.equal(st.status.replicas, 3);
    const main = await reg.update(ctx, { info: deps, namespace: 'default', name: 'dep' }, { ...st, status: { replicas: 99 } });
    assert.equal(main.status.replicas, 3);
    // The scale subresource.
    const scale = await reg.get(ctx, { info: deps, namespace: 'default', name: 'dep', subresource: 'scale' });
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.selector], ['Scale', 3, 'app=x']);
    const s5 = await reg.update(ctx, { info: deps, namespace: 'default', name: 'dep', subresource: 'scale' }, { ...scale, spec: { replicas: 5 } });
    assert.equal(s5.spec.replicas, 5);
    const latest = await reg.get(ctx, { info: deps, namespace: 'default', name: 'dep' });
    await assert.rejects(reg.update(ctx, { info: deps, namespace: 'default', name: 'dep' }, { ...latest, spec: { ...latest.spec, selector: { matchLabels: { app: 'x', b: 'c' } } } }), { code: 'Invalid', message: /spec.selector: Invalid value: .*field is immutable/ });
  });

  test('patch: merge, strategic and json; apply creates when missing', async () => {
    await reg.create(ctx, { info: cms, namespace: 'default' }, { metadata: { name: 'pcm' }, data: { a: '1' } });
    const m = await reg.patch(ctx, { info: cms, namespace: 'default', name: 'pcm' }, 'merge', { data: { b: '2' } });
    assert.deepEqual(m.object.data, { a: '1', b: '2' });
    const j = await reg.patch(ctx, { info: cms, namespace: 'default', name: 'pcm' }, 'json', [{ op: 'remove', path: '/data/a' }]);
    assert.deepEqual(j.object.data, { b: '2' });
    const created = await reg.patch(ctx, { info: cms, namespace: 'default', name: 'applied' }, 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { x: 'y' } });
    assert.equal(created.created, true);
  });

  test('binding sets nodeName once; a second binding → Conflict', async () => {
    await reg.create(ctx, { info: pods, namespace: 'default' }, pod('bindme'));
    await reg.create(ctx, { info: pods, namespace: 'default', name: 'bindme', subresource: 'binding' }, { metadata: { name: 'bindme' }, target: { kind: 'Node', name: 'n1' } } as KubeObject);
    const p = await reg.get(ctx, { info: pods, namespace: 'default', name: 'bindme' });
    assert.equal(p.spec.nodeName, 'n1');
    assert.equal(p.status.conditions[0].type, 'PodScheduled');
    await assert.rejects(reg.create(ctx, { info: pods, namespace: 'default', name: 'bindme', subresource: 'binding' }, { metadata: {}, target: { name: 'n2' } } as KubeObject),
      { code: 'Conflict', message: /already assigned to node "n1"/ });
  });

  test('graceful deletion: a bound pod waits for its kubelet, an unbound pod goes at once', async () => {
    const bound = await reg.delete(ctx, { info: pods, namespace: 'default', name: 'bindme' });
    assert.equal(bound.deleted, false);
    assert.ok(bound.object.metadata.deletionTimestamp);
    assert.equal(bound.object.metadata.deletionGracePeriodSeconds, 30);
    const final = await reg.delete(ctx, { info: pods, namespace: 'default', name: 'bindme' }, { gracePeriodSeconds: 0 });
    assert.equal(final.deleted, true);
    await reg.create(ctx, { info: pods, namespace: 'default' }, pod('unbound'));
    assert.equal((await reg.delete(ctx, { info: pods, namespace: 'default', name: 'unbound' })).deleted, true);
    await assert.rejects(reg.get(ctx, { info: pods, namespace: 'default', name: 'unbound' }), { code: 'NotFound' });
  });

  test('finalizers hold a deleted object until they are removed', async () => {
    const c = await reg.create(ctx, { info: cms, namespace: 'default' }, { metadata: { name: 'fin', finalizers: ['example.com/x'] } });
    const d = await reg.delete(ctx, { info: cms, namespace: 'default', name: 'fin' });
    assert.equal(d.deleted, false);
    const cur = await reg.get(ctx, { info: cms, namespace: 'default', name: 'fin' });
    assert.ok(cur.metadata.deletionTimestamp);
    await reg.update(ctx, { info: cms, namespace: 'default', name: 'fin' }, { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    await assert.rejects(reg.get(ctx, { info: cms, namespace: 'default', name: 'fin' }), { code: 'NotFound' });
    assert.ok(c.metadata.uid);
  });

  test('list with set-based label selectors and field selectors; paging', async () => {
    await reg.create(ctx, { info: nss }, { metadata: { name: 'sel' } });
    for (const [n, tier] of [['a', 'web'], ['b', 'db'], ['c', 'cache']]) await reg.create(ctx, { info: pods, namespace: 'sel' }, pod(n, { tier }));
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await reg.list(ctx, { info: pods, namespace: 'sel' }, { labelSelector, fieldSelector })).items.map((i) => i.metadata.name);
    assert.deepEqual(await names('tier in (web,db)'), ['a', 'b']);
    assert.deepEqual(await names('tier notin (web)'), ['b', 'c']);
    assert.deepEqual(await names('!tier'), []);
    assert.deepEqual(await names(undefined, 'metadata.name=c'), ['c']);
    assert.deepEqual(await names(undefined, 'status.phase=Pending,metadata.name!=a'), ['b', 'c']);
    await assert.rejects(names('tier in web'), { code: 'BadRequest' });
    await assert.rejects(names(undefined, 'spec.image=x'), { code: 'BadRequest', message: 'field label not supported: spec.image' });
    const p1 = await reg.list(ctx, { info: pods, namespace: 'sel' }, { limit: 2 });
    assert.equal(p1.items.length, 2);
    const p2 = await reg.list(ctx, { info: pods, namespace: 'sel' }, { limit: 2, continue: p1.metadata.continue });
    assert.deepEqual(p2.items.map((i) => i.metadata.name), ['c']);
    assert.equal(p2.metadata.continue, undefined);
  });

  test('watch: resume from a resourceVersion, selector transitions, garbage RV → 400', async () => {
    const start = (await reg.list(ctx, { info: pods, namespace: 'sel' }, {})).metadata.resourceVersion;
    const w = await reg.watch(ctx, { info: pods, namespace: 'sel' }, { resourceVersion: start, labelSelector: 'tier=web' });
    const a = await reg.get(ctx, { info: pods, namespace: 'sel', name: 'a' });
    await reg.update(ctx, { info: pods, namespace: 'sel', name: 'a' }, { ...a, metadata: { ...a.metadata, labels: { tier: 'gone' } } });
    const b = await reg.get(ctx, { info: pods, namespace: 'sel', name: 'b' });
    await reg.update(ctx, { info: pods, namespace: 'sel', name: 'b' }, { ...b, metadata: { ...b.metadata, labels: { tier: 'web' } } });
    const evs = await next(w, 2);
    w.close();
    assert.deepEqual(evs.map((e) => [e.type, e.object.metadata.name]), [['DELETED', 'a'], ['ADDED', 'b']]);
    await assert.rejects(reg.watch(ctx, { info: pods }, { resourceVersion: 'abc' }), { code: 'BadRequest' });
    // Without a resourceVersion: synthetic ADDED for what exists.
    const w0 = await reg.watch(ctx, { info: pods, namespace: 'sel' }, {});
    const initial = await next(w0, 3);
    w0.close();
    assert.deepEqual(initial.map((e) => e.type), ['ADDED', 'ADDED', 'ADDED']);
  });

  test('watch from a compacted resourceVersion → one ERROR event with 410 Expired', async () => {
    const old = (await reg.list(ctx, { info: cms, namespace: 'default' }, {})).metadata.resourceVersion!;
    await reg.create(ctx, { info: cms, namespace: 'default' }, { metadata: { name: 'after-compact' } });
    await store.compact(await store.currentRevision());
    const w = await reg.watch(ctx, { info: R('secrets'), namespace: 'default' }, { resourceVersion: String(Number(old) - 2) });
    const evs = await next(w, 2);
    assert.equal(evs.length, 1);
    assert.equal(evs[0].type, 'ERROR');
    assert.equal((evs[0].object as any).code, 410);
    assert.equal((evs[0].object as any).reason, 'Expired');
  });

  test('services: unique ClusterIPs and NodePorts, released on delete; headless allocates nothing', async () => {
    const svc = (name: string, spec: Record<string, unknown> = {}): KubeObject =>
      ({ metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } });
    const made = await Promise.all(['s1', 's2', 's3', 's4'].map((n) => reg.create(ctx, { info: svcs, namespace: 'default' }, svc(n, { type: 'NodePort' }))));
    const ips = made.map((s) => s.spec.clusterIP);
    assert.equal(new Set(ips).size, 4);
    assert.ok(!ips.includes('10.96.0.1'));
    const ports = made.map((s) => s.spec.ports[0].nodePort);
    assert.equal(new Set(ports).size, 4);
    assert.ok(ports.every((p) => p >= 30000 && p <= 30004));
    await assert.rejects(reg.create(ctx, { info: svcs, namespace: 'default' }, svc('dupip', { clusterIP: ips[0] })), { code: 'Invalid', message: /provided IP is already allocated/ });
    await assert.rejects(reg.create(ctx, { info: svcs, namespace: 'default' }, svc('dupport', { type: 'NodePort', ports: [{ port: 80, nodePort: ports[0] }] })), { code: 'Invalid', message: /provided port is already allocated/ });
    await reg.delete(ctx, { info: svcs, namespace: 'default', name: 's1' });
    const reuse = await reg.create(ctx, { info: svcs, namespace: 'default' }, svc('reuse', { clusterIP: ips[0], type: 'NodePort', ports: [{ port: 80, nodePort: ports[0] }] }));
    assert.equal(reuse.spec.clusterIP, ips[0]);
    const headless = await reg.create(ctx, { info: svcs, namespace: 'default' }, svc('headless', { clusterIP: 'None' }));
    assert.deepEqual(headless.spec.clusterIPs, ['None']);
    // Type NodePort → ClusterIP by a patch that leaves nodePort as it was: the port is dropped and freed.
    const back = await reg.patch(ctx, { info: svcs, namespace: 'default', name: 'reuse' }, 'merge', { spec: { type: 'ClusterIP' } });
    assert.equal(back.object.spec.ports[0].nodePort, undefined);
    await assert.rejects(reg.patch(ctx, { info: svcs, namespace: 'default', name: 's2' }, 'merge', { spec: { type: 'ClusterIP', ports: [{ port: 80, nodePort: ports[2] }] } }),
      { code: 'Invalid', message: /nodePort/ }, 'a nodePort the user set on a ClusterIP service is still refused');
    const again = await reg.create(ctx, { info: svcs, namespace: 'default' }, svc('again', { type: 'NodePort', ports: [{ port: 80, nodePort: ports[0] }] }));
    assert.equal(again.spec.ports[0].nodePort, ports[0], 'the freed port can be taken again');
  });

  test('deleting a namespace marks it Terminating, removes its contents, then it goes', async () => {
    await reg.create(ctx, { info: nss }, { metadata: { name: 'doomed' } });
    await reg.create(ctx, { info: cms, namespace: 'doomed' }, { metadata: { name: 'x' } });
    const d = await reg.delete(ctx, { info: nss, name: 'doomed' });
    assert.equal(d.object.status.phase, 'Terminating');
    await assert.rejects(reg.create(ctx, { info: cms, namespace: 'doomed' }, { metadata: { name: 'y' } }), { code: 'Forbidden' });
    for (const end = Date.now() + 30_000; Date.now() < end;) {
      try { await reg.get(ctx, { info: nss, name: 'doomed' }); } catch { break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    await assert.rejects(reg.get(ctx, { info: nss, name: 'doomed' }), { code: 'NotFound' });
    await assert.rejects(reg.delete(ctx, { info: nss, name: 'default' }), { code: 'Forbidden' });
  });

  test('statuses carry the zero values Go writes for fields without omitempty, on create and on a status write', async () => {
    const tpl = { metadata: { labels: { app: 'z' } }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }] } };
    const sel = { matchLabels: { app: 'z' } };
    const made = async (resource: string, group: string, kind: string, spec: object) =>
      (await reg.create(ctx, { info: R(resource, group), namespace: 'default' }, { apiVersion: group ? `${group}/v1` : 'v1', kind, metadata: { name: 'zero' }, spec } as KubeObject)).status;
    assert.deepEqual(await made('replicationcontrollers', '', 'ReplicationController', { template: tpl }), { replicas: 0 });
    assert.deepEqual(await made('replicasets', 'apps', 'ReplicaSet', { selector: sel, template: tpl }), { replicas: 0 });
    assert.deepEqual(await made('statefulsets', 'apps', 'StatefulSet', { selector: sel, template: tpl, serviceName: 'z' }), { replicas: 0, availableReplicas: 0 });
    assert.deepEqual(await made('daemonsets', 'apps', 'DaemonSet', { selector: sel, template: tpl }),
      { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
    // Every field of DeploymentStatus and JobStatus is omitempty.
    assert.deepEqual(await made('deployments', 'apps', 'Deployment', { selector: sel, template: tpl }), {});
    // A status write that leaves a field out stores its zero, in the struct's order.
    const rcs = R('replicationcontrollers');
    const rc = await reg.get(ctx, { info: rcs, namespace: 'default', name: 'zero' });
    const w = await reg.update(ctx, { info: rcs, namespace: 'default', name: 'zero', subresource: 'status' }, { ...rc, status: { readyReplicas: 1 } });
    assert.deepEqual(Object.entries(w.status), [['replicas', 0], ['readyReplicas', 1]]);
    assert.deepEqual((await reg.get(ctx, { info: rcs, namespace: 'default', name: 'zero' })).status, { replicas: 0, readyReplicas: 1 });
  });
});
