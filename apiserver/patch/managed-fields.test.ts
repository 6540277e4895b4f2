// Field sets, ownership and apply semantics on plain objects (no apiserver): what structured-merge-diff and
// kube-apiserver's field manager compute for the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { ApiError } from '../../api/errors.ts';
import { FieldSet, pathString } from './fieldset.ts';
import { applyConfig, fieldManagerErrors, managerFromUserAgent, recordUpdate } from './managed-fields.ts';

const deployInfo = findResource('apps', 'deployments')!;
const cmInfo = findResource('', 'configmaps')!;

const deploy = (spec: Record<string, unknown>, labels: Record<string, string> = { app: 'web' }): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', labels }, spec,
} as KubeObject);
const containers = (...cs: object[]) => ({ selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: cs } } });
const entry = (o: KubeObject, manager: string) => (o.metadata.managedFields as any[]).find((m) => m.manager === manager);
const conflictOf = (fn: () => unknown): ApiError => {
  try { fn(); } catch (e) { if (e instanceof ApiError) return e; throw e; }
  throw new Error('no conflict');
};

test('FieldsV1 round trip, ordering and conflict paths', () => {
  const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } } };
  const s = FieldSet.fromFieldsV1(v1);
  assert.deepEqual(s.toFieldsV1(), v1);
  assert.deepEqual(s.paths().map(pathString), ['.metadata.labels', '.metadata.labels.app', '.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port']);
  assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"a"']), '.metadata.finalizers[="a"]');
  assert.throws(() => FieldSet.fromFieldsV1({ 'x:y': {} }));
  assert.deepEqual(Object.keys(FieldSet.of([['k:{"a":1}'], ['f:z'], ['f:a']]).toFieldsV1()), ['f:a', 'f:z', 'k:{"a":1}']);
  const order = FieldSet.of([['f:spec', 'f:template', 'f:x'], ['f:spec', 'f:replicas'], ['f:metadata', 'f:labels', 'f:a'], ['f:spec', 'f:b']]);
  assert.deepEqual(order.sortedPaths().map(pathString), ['.metadata.labels.a', '.spec.b', '.spec.replicas', '.spec.template.x']);
});

test('manager names: User-Agent before the first slash; fieldManager validation', () => {
  assert.equal(managerFromUserAgent('kubectl/v1.32.0 (linux/amd64) kubernetes/abc'), 'kubectl');
  assert.equal(managerFromUserAgent('kube-controller-manager/v1.32.0'), 'kube-controller-manager');
  assert.equal(managerFromUserAgent(undefined), '');
  assert.equal(managerFromUserAgent('x'.repeat(200)).length, 128);
  assert.deepEqual(fieldManagerErrors('ok'), []);
  assert.equal(fieldManagerErrors('x'.repeat(129))[0]!.detail, 'Too long: may not be more than 128 bytes');
  assert.match(fieldManagerErrors('a\u0007b')[0]!.detail, /invalid character U\+0007 \(at position 1\)/);
});

test('an update owns what it sets, with `.` for new Go maps and list items; server fields are not owned', () => {
  const obj = deploy({ replicas: 2, ...containers({ name: 'web', image: 'nginx' }) });
  obj.metadata.uid = 'u'; obj.metadata.resourceVersion = '5';
  recordUpdate(deployInfo, undefined, obj, { manager: 'kubectl-create' });
  const e = entry(obj, 'kubectl-create');
  assert.equal(e.operation, 'Update');
  assert.equal(e.apiVersion, 'apps/v1');
  assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(e.fieldsV1, {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': {
      'f:replicas': {}, 'f:selector': {},
      'f:template': {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      },
    },
  });
  // A second manager changing replicas takes it; the first keeps the rest.
  const next = structuredClone(obj);
  next.spec.replicas = 3;
  delete next.metadata.managedFields;
  recordUpdate(deployInfo, obj, next, { manager: 'hpa' });
  assert.deepEqual(entry(next, 'hpa').fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.equal(entry(next, 'kubectl-create').fieldsV1['f:spec']['f:replicas'], undefined);
  // `[{}]` in the body resets them; an empty list keeps the stored ones.
  const reset = structuredClone(next); reset.metadata.managedFields = [{}];
  recordUpdate(deployInfo, next, reset, { manager: 'x' });
  assert.equal(reset.metadata.managedFields, undefined);
  const kept = structuredClone(next); kept.metadata.managedFields = [];
  recordUpdate(deployInfo, next, kept, { manager: 'x' });
  assert.equal((kept.metadata.managedFields as unknown[]).length, 2);
});

test('apply: conflicts name the other manager; the same value is shared; force moves ownership', () => {
  const live = deploy({ replicas: 2, ...containers({ name: 'web', image: 'nginx' }) });
  recordUpdate(deployInfo, undefined, live, { manager: 'kubectl-client-side-apply' });
  const err = conflictOf(() => applyConfig(deployInfo, live, deploy({ replicas: 3, ...containers({ name: 'web', image: 'nginx:2' }) }), { manager: 'kubectl' }, false));
  assert.equal(err.code, 'Conflict');
  assert.equal(err.message, 'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image');
  assert.deepEqual(err.details?.causes?.[0], { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' });
  const shared = applyConfig(deployInfo, live, deploy({ replicas: 2 }), { manager: 'kubectl' }, false);
  assert.deepEqual(entry(shared, 'kubectl').fieldsV1['f:spec'], { 'f:replicas': {} });
  assert.deepEqual(entry(shared, 'kubectl-client-side-apply').fieldsV1['f:spec']['f:replicas'], {});
  assert.equal(entry(shared, 'kubectl').operation, 'Apply');
  assert.equal((shared.metadata.managedFields as any[])[0].manager, 'kubectl', 'Apply entries sort first');
  const forced = applyConfig(deployInfo, shared, deploy({ replicas: 7 }), { manager: 'kubectl' }, true);
  assert.equal(forced.spec.replicas, 7);
  assert.equal(entry(forced, 'kubectl-client-side-apply').fieldsV1['f:spec']['f:replicas'], undefined);
  // Another applier's conflict names it without a version.
  const withManaged = { ...deploy({}), metadata: { name: 'web', managedFields: [] } } as KubeObject;
  assert.equal(conflictOf(() => applyConfig(deployInfo, forced, withManaged, { manager: 'bob' }, false)).message, 'metadata.managedFields must be nil');
  const other = conflictOf(() => applyConfig(deployInfo, forced, deploy({ replicas: 1 }), { manager: 'bob' }, false));
  assert.equal(other.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
});

test('apply: what the applier stops applying goes, unless another manager owns it', () => {
  const v1 = applyConfig(deployInfo, undefined, deploy({ replicas: 2, ...containers({ name: 'web', image: 'nginx', args: ['a', 'b'] }, { name: 'side', image: 'busybox' }) }, { app: 'web', tier: 'x' }), { manager: 'alice' }, false);
  const withBob = applyConfig(deployInfo, v1, deploy({}, { team: 'b', tier: 'x' }), { manager: 'bob' }, false);
  assert.deepEqual(withBob.metadata.labels, { app: 'web', tier: 'x', team: 'b' });
  const v2 = applyConfig(deployInfo, withBob, deploy(containers({ name: 'web', image: 'nginx', args: ['c'] }), { app: 'web' }), { manager: 'alice' }, false);
  assert.equal(v2.spec.replicas, undefined);
  assert.deepEqual(v2.spec.template.spec.containers.map((c: any) => c.name), ['web'], 'the side container went');
  assert.deepEqual(v2.spec.template.spec.containers[0].args, ['c'], 'atomic lists are replaced whole');
  assert.deepEqual(v2.metadata.labels, { app: 'web', tier: 'x', team: 'b' }, 'tier stays: bob owns it too');
});

test('apply: maps of a ConfigMap are granular; metadata.finalizers is a set', () => {
  const cm = (data: Record<string, string>, finalizers?: string[]) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', ...(finalizers ? { finalizers } : {}) }, data }) as KubeObject;
  const a = applyConfig(cmInfo, undefined, cm({ a: '1' }, ['x']), { manager: 'alice' }, false);
  const b = applyConfig(cmInfo, a, cm({ b: '2' }, ['y']), { manager: 'bob' }, false);
  assert.deepEqual(b.data, { a: '1', b: '2' });
  assert.deepEqual(b.metadata.finalizers, ['x', 'y']);
  assert.deepEqual(entry(b, 'bob').fieldsV1, { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:finalizers': { 'v:"y"': {} } } });
  const c = applyConfig(cmInfo, b, cm({}), { manager: 'alice' }, false);
  assert.deepEqual(c.data, { b: '2' });
  assert.deepEqual(c.metadata.finalizers, ['y']);
});

test('custom kinds merge by x-kubernetes-list-type and list-map-keys', () => {
  const schema = {
    type: 'object', properties: {
      spec: {
        type: 'object', properties: {
          items: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, v: { type: 'integer' } } } },
          tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
          args: { type: 'array', items: { type: 'string' } },
          opts: { type: 'object', 'x-kubernetes-map-type': 'atomic', properties: { a: { type: 'string' }, b: { type: 'string' } } },
        },
      },
    },
  };
  const info = { group: 'x.io', version: 'v1', kind: 'Thing', resource: 'things', namespaced: true, subresources: [], custom: { schema } } as unknown as ResourceInfo;
  const thing = (spec: object) => ({ apiVersion: 'x.io/v1', kind: 'Thing', metadata: { name: 't' }, spec }) as KubeObject;
  const a = applyConfig(info, undefined, thing({ items: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }], tags: ['x', 'y'], args: ['1'], opts: { a: '1' } }), { manager: 'alice' }, false);
  assert.deepEqual(entry(a, 'alice').fieldsV1['f:spec']['f:items'], { 'k:{"name":"a"}': { '.': {}, 'f:name': {}, 'f:v': {} }, 'k:{"name":"b"}': { '.': {}, 'f:name': {}, 'f:v': {} } });
  assert.deepEqual(entry(a, 'alice').fieldsV1['f:spec']['f:opts'], {}, 'an atomic map is one field');
  const b = applyConfig(info, a, thing({ items: [{ name: 'c', v: 3 }], tags: ['z'] }), { manager: 'bob' }, false);
  assert.deepEqual(b.spec.items.map((i: any) => i.name), ['a', 'b', 'c']);
  assert.deepEqual(b.spec.tags, ['x', 'y', 'z']);
  assert.equal(conflictOf(() => applyConfig(info, b, thing({ args: ['2'] }), { manager: 'bob' }, false)).message, 'Apply failed with 1 conflict: conflict with "alice": .spec.args');
  assert.equal(conflictOf(() => applyConfig(info, b, thing({ opts: { b: '2' } }), { manager: 'bob' }, false)).message, 'Apply failed with 1 conflict: conflict with "alice": .spec.opts');
  const c = applyConfig(info, b, thing({ items: [{ name: 'a', v: 1 }], tags: ['x'] }), { manager: 'alice' }, false);
  assert.deepEqual(c.spec.items.map((i: any) => i.name), ['a', 'c']);
  assert.deepEqual(c.spec.tags, ['x', 'z']);
  assert.equal(c.spec.args, undefined);
});

test('status writes record their own manager with subresource status', () => {
  const live = deploy({ replicas: 1 });
  recordUpdate(deployInfo, undefined, live, { manager: 'kubectl' });
  const next = { ...structuredClone(live), status: { replicas: 1 } } as KubeObject;
  recordUpdate(deployInfo, live, next, { manager: 'kube-controller-manager', subresource: 'status' });
  const e = entry(next, 'kube-controller-manager');
  assert.equal(e.subresource, 'status');
  assert.deepEqual(e.fieldsV1, { 'f:status': { 'f:replicas': {} } });
});

test('an update adds `.` for pointer structs of built-in kinds and for every object of custom kinds', () => {
  const obj = deploy({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } });
  recordUpdate(deployInfo, undefined, obj, { manager: 'm' });
  assert.deepEqual(entry(obj, 'm').fieldsV1['f:spec']['f:strategy'], { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {} }, 'f:type': {} });
  const info = { group: 'x.io', version: 'v1', kind: 'Thing', resource: 'things', namespaced: true, subresources: [], custom: { schema: { type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } } } } } as unknown as ResourceInfo;
  const thing = { apiVersion: 'x.io/v1', kind: 'Thing', metadata: { name: 't' }, spec: { a: 'x' } } as KubeObject;
  recordUpdate(info, undefined, thing, { manager: 'm' });
  assert.deepEqual(entry(thing, 'm').fieldsV1, { 'f:spec': { '.': {}, 'f:a': {} } });
});

test('more than 10 update managers: the oldest merge into ancient-changes', () => {
  let obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} } as KubeObject;
  for (let i = 0; i < 12; i++) {
    const next = structuredClone(obj);
    next.data = { ...(next.data as Record<string, string>), [`k${i}`]: 'v' };
    recordUpdate(cmInfo, obj, next, { manager: `m${String(i).padStart(2, '0')}` });
    obj = next;
  }
  const entries = obj.metadata.managedFields as any[];
  assert.equal(entries.length, 10);
  const ancient = entries.find((e) => e.manager === 'ancient-changes');
  assert.ok(ancient, entries.map((e) => e.manager).join(' '));
  assert.equal(Object.keys(ancient.fieldsV1['f:data']).filter((k) => k !== '.').length, 3);
});

test('a no-op apply keeps the entry as it was', () => {
  const first = applyConfig(deployInfo, undefined, deploy({ replicas: 2 }), { manager: 'kubectl' }, false);
  (first.metadata.managedFields as any[])[0].time = '2020-01-01T00:00:00Z';
  const again = applyConfig(deployInfo, first, deploy({ replicas: 2 }), { manager: 'kubectl' }, false);
  assert.deepEqual(again.metadata.managedFields, first.metadata.managedFields);
  const changedOnce = applyConfig(deployInfo, first, deploy({ replicas: 3 }), { manager: 'kubectl' }, false);
  assert.notEqual((changedOnce.metadata.managedFields as any[])[0].time, '2020-01-01T00:00:00Z');
});

test('list types of k8s.io/api where the strategic merge key is not the whole story', () => {
  const podInfo = findResource('', 'pods')!;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {
    containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 53 }] }],
    topologySpreadConstraints: [{ topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1 }],
  } } as KubeObject;
  const fields = entry(applyConfig(podInfo, undefined, pod, { manager: 'm' }, false), 'm').fieldsV1['f:spec'];
  assert.deepEqual(Object.keys(fields['f:containers']['k:{"name":"c"}']['f:ports']), ['k:{"containerPort":53,"protocol":"TCP"}', 'k:{"containerPort":53,"protocol":"UDP"}']);
  assert.deepEqual(Object.keys(fields['f:topologySpreadConstraints']), ['k:{"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}']);
  const nodeInfo = findResource('', 'nodes')!;
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } } as KubeObject;
  assert.deepEqual(entry(applyConfig(nodeInfo, undefined, node, { manager: 'm' }, false), 'm').fieldsV1['f:spec'], { 'f:taints': {} }, 'node taints are atomic');
});

test('keys of the body are data: __proto__ and constructor are fields like any other', () => {
  const cfg = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"__proto__":"x","constructor":"y"}},"data":{"__proto__":"z"}}') as KubeObject;
  const out = applyConfig(cmInfo, undefined, cfg, { manager: 'm' }, false);
  assert.equal(Object.getPrototypeOf(out.metadata.labels), Object.prototype);
  assert.deepEqual(Object.keys(out.metadata.labels!), ['__proto__', 'constructor']);
  assert.deepEqual(Object.keys(entry(out, 'm').fieldsV1['f:metadata']['f:labels']), ['f:__proto__', 'f:constructor']);
  const again = applyConfig(cmInfo, out, JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"constructor":{"a":1}}'), { manager: 'm' }, false);
  assert.equal(again.metadata.labels, undefined);
  assert.equal(({} as any).polluted, undefined);
});

test('an update: added omitempty lists get `.`, containers does not; atomic list items are leaves', () => {
  const obj = deploy(containers({ name: 'web', image: 'nginx', env: [{ name: 'A', value: '1' }] }));
  obj.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' }];
  recordUpdate(deployInfo, undefined, obj, { manager: 'm' });
  const f = entry(obj, 'm').fieldsV1;
  assert.deepEqual(f['f:metadata']['f:ownerReferences'], { '.': {}, 'k:{"uid":"u1"}': {} });
  const c = f['f:spec']['f:template']['f:spec']['f:containers'];
  assert.equal(c['.'], undefined);
  assert.deepEqual(c['k:{"name":"web"}']['f:env'], { '.': {}, 'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} } });
});
