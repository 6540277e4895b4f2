import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './index.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';

const deployInfo: ResourceInfo = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', singular: 'deployment', namespaced: true, shortNames: [], categories: [], subresources: [] };

const deploy = (): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'hello', namespace: 'default', uid: 'u1', annotations: { 'deployment.kubernetes.io/revision': '2' }, finalizers: ['a'] },
  spec: {
    replicas: 2, selector: { matchLabels: { app: 'hello' } },
    template: {
      metadata: { labels: { app: 'hello' } },
      spec: {
        containers: [
          { name: 'hello', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'side', image: 'busybox' },
        ],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    },
  },
} as unknown as KubeObject);

const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code: string }).code; } return 'none'; };

test('RFC 6902 examples', () => {
  assert.deepEqual(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), { foo: 'bar', baz: 'qux' });
  assert.deepEqual(applyJsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]), { foo: ['bar', 'qux', 'baz'] });
  assert.deepEqual(applyJsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: 'x' }]), { foo: ['bar', 'x'] });
  assert.deepEqual(applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), { foo: 'bar' });
  assert.deepEqual(applyJsonPatch({ baz: 'qux' }, [{ op: 'replace', path: '/baz', value: 'boo' }]), { baz: 'boo' });
  assert.deepEqual(applyJsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]),
    { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
  assert.deepEqual(applyJsonPatch({ a: [1] }, [{ op: 'copy', from: '/a', path: '/b' }]), { a: [1], b: [1] });
  assert.deepEqual(applyJsonPatch({ 'a/b': 1, 'm~n': 2 }, [{ op: 'replace', path: '/a~1b', value: 3 }, { op: 'remove', path: '/m~0n' }]), { 'a/b': 3 });
  assert.deepEqual(applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'qux' }]), { baz: 'qux' });
  assert.equal(codeOf(() => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }])), 'Invalid');
  assert.equal(codeOf(() => applyJsonPatch({}, [{ op: 'add', path: '/a/b', value: 1 }])), 'Invalid');
  assert.equal(codeOf(() => applyJsonPatch({}, { op: 'add' })), 'BadRequest');
  assert.equal(codeOf(() => applyJsonPatch({}, [{ op: 'frob', path: '/a' }])), 'BadRequest');
});

test('RFC 7386 example', () => {
  const target = { title: 'Goodbye!', author: { givenName: 'John', familyName: 'Doe' }, tags: ['example', 'sample'], content: 'x' };
  const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
  assert.deepEqual(applyMergePatch(target, patch), { title: 'Hello!', author: { givenName: 'John' }, tags: ['example'], content: 'x', phoneNumber: '+01-123-456-7890' });
  assert.deepEqual(target.author, { givenName: 'John', familyName: 'Doe' }, 'input not mutated');
});

test('kubectl client-side apply body keeps other container fields and drops directives', () => {
  const orig = deploy();
  const before = structuredClone(orig);
  const out = applyPatch('strategic', orig, { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'hello' }, { name: 'side' }], containers: [{ image: 'nginx:1.28', name: 'hello' }] } } } }, deployInfo) as any;
  assert.deepEqual(orig, before);
  const c = out.spec.template.spec.containers;
  assert.equal(c.length, 2);
  assert.deepEqual(c[0], { name: 'hello', image: 'nginx:1.28', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] });
  assert.equal(out.metadata.annotations['deployment.kubernetes.io/revision'], '2');
  assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '{}');
  assert.ok(!JSON.stringify(out).includes('$'));
});

test('rollout restart and label/scale patches', () => {
  const out = applyPatch('strategic', deploy(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } } } } }, deployInfo) as any;
  assert.deepEqual(out.spec.template.metadata, { labels: { app: 'hello' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } });
  const s = applyPatch('merge', deploy(), { spec: { replicas: 3 }, metadata: { annotations: { 'deployment.kubernetes.io/revision': null } } }, deployInfo) as any;
  assert.equal(s.spec.replicas, 3);
  assert.deepEqual(s.metadata.annotations, {});
});

test('rollout undo json patch replaces template and annotations', () => {
  const tpl = { metadata: { creationTimestamp: null, labels: { app: 'hello' } }, spec: { containers: [{ name: 'hello', image: 'nginx:1.26', resources: {} }] } };
  const out = applyPatch('json', deploy(), [{ op: 'replace', path: '/spec/template', value: tpl },
    { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '1' } }], deployInfo) as any;
  assert.deepEqual(out.spec.template, tpl);
  assert.deepEqual(out.metadata.annotations, { 'deployment.kubernetes.io/revision': '1' });
});

test('strategic directives', () => {
  const d = deploy();
  const spec = (o: any) => o.spec.template.spec;
  // null deletes; merge by key for env; tolerations replaced (no merge key)
  let o = applyStrategicMergePatch(d, { spec: { replicas: null, template: { spec: { tolerations: [{ key: 'y', operator: 'Exists' }], containers: [{ name: 'hello', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] } } } }) as any;
  assert.equal('replicas' in o.spec, false);
  assert.deepEqual(spec(o).tolerations, [{ key: 'y', operator: 'Exists' }]);
  assert.deepEqual(spec(o).containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
  // $patch: delete in a list item, and ports by containerPort
  o = applyStrategicMergePatch(d, { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }, { name: 'hello', ports: [{ containerPort: 80, name: 'http' }] }] } } } }) as any;
  assert.deepEqual(spec(o).containers.map((c: any) => c.name), ['hello']);
  assert.deepEqual(spec(o).containers[0].ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
  // $patch: replace on a list and on a map; $patch: delete on a map
  o = applyStrategicMergePatch(d, { spec: { selector: { $patch: 'delete' }, template: { metadata: { labels: { $patch: 'replace', x: 'y' } }, spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'i' }] } } } }) as any;
  assert.equal('selector' in o.spec, false);
  assert.deepEqual(o.spec.template.metadata.labels, { x: 'y' });
  assert.deepEqual(spec(o).containers, [{ name: 'only', image: 'i' }]);
  // finalizers merged as a set; $deleteFromPrimitiveList
  o = applyStrategicMergePatch(d, { metadata: { finalizers: ['a', 'b'] } }) as any;
  assert.deepEqual(o.metadata.finalizers, ['a', 'b']);
  o = applyStrategicMergePatch(d, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as any;
  assert.deepEqual(o.metadata.finalizers, []);
  // $setElementOrder reorders
  o = applyStrategicMergePatch(d, { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'hello' }] } } } }) as any;
  assert.deepEqual(spec(o).containers.map((c: any) => c.name), ['side', 'hello']);
  // $retainKeys clears keys not retained
  o = applyStrategicMergePatch({ spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } }, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }) as any;
  assert.deepEqual(o.spec.strategy, { type: 'Recreate' });
  // service ports by port
  o = applyStrategicMergePatch({ spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } }, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }) as any;
  assert.deepEqual(o.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
  assert.equal(codeOf(() => applyStrategicMergePatch(d, { $patch: 'bogus' })), 'BadRequest');
  assert.equal(codeOf(() => applyStrategicMergePatch(d, [1])), 'BadRequest');
});

test('server-side apply merges into live object', () => {
  const out = applyPatch('apply', deploy(), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'hello' }, spec: { replicas: 5, template: { spec: { containers: [{ name: 'hello', image: 'nginx:1.29' }] } } } }, deployInfo) as any;
  assert.equal(out.spec.replicas, 5);
  assert.equal(out.spec.template.spec.containers[0].image, 'nginx:1.29');
  assert.equal(out.spec.template.spec.containers[0].env.length, 2);
  assert.equal(codeOf(() => applyPatch('apply', deploy(), { kind: 'Deployment' }, deployInfo)), 'BadRequest');
});
