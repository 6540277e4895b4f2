// Issue 13 item 1: no patch — of any type, over REST or gRPC — reaches Object.prototype. The apiserver runs in
// this process, so a polluted prototype would show here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { GrpcApiClient } from '../../client/grpc-client.ts';

const CM = '/api/v1/namespaces/default/configmaps';
const TYPES = {
  json: 'application/json-patch+json', merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json', apply: 'application/apply-patch+yaml',
} as const;

/** A patch of each type that would set `deletionTimestamp` on Object.prototype if a key reached it. */
const POISON: Record<keyof typeof TYPES, unknown[]> = {
  json: [
    [{ op: 'add', path: '/__proto__/deletionTimestamp', value: '2000-01-01T00:00:00Z' }],
    [{ op: 'add', path: '/metadata/__proto__/polluted', value: 'yes' }],
    [{ op: 'replace', path: '/constructor/prototype/polluted', value: 'yes' }],
    [{ op: 'copy', from: '/metadata/name', path: '/__proto__/polluted' }],
    [{ op: 'move', from: '/data', path: '/__proto__' }],
  ],
  merge: [{ __proto__: { polluted: 'yes' } }, { metadata: { __proto__: { deletionTimestamp: '2000-01-01T00:00:00Z' } } },
    { constructor: { prototype: { polluted: 'yes' } } }],
  strategic: [{ __proto__: { polluted: 'yes' } }, { metadata: { labels: { __proto__: { polluted: 'yes' } } } },
    { constructor: { prototype: { polluted: 'yes' } } }, { $setElementOrder__proto__: [] }],
  apply: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, __proto__: { polluted: 'yes' } }],
};

// JSON.stringify drops a literal's own "__proto__" only if it is the prototype setter; build bodies as text.
const bodyOf = (p: unknown) => JSON.stringify(p, null, 0).replace(/"__proto__x"/g, '"__proto__"');
function withProtoKeys(p: unknown): unknown {
  // Object literals above used `__proto__:` which sets the literal's prototype; rebuild them with own keys.
  if (Array.isArray(p)) return p.map(withProtoKeys);
  if (typeof p !== 'object' || p === null) return p;
  const out: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(p);
  if (proto !== Object.prototype && proto !== null) out.__proto__x = withProtoKeys({ ...proto });
  for (const [k, v] of Object.entries(p)) out[k] = withProtoKeys(v);
  return out;
}

export function assertPrototypeClean(): void {
  assert.deepEqual(Object.keys(Object.prototype), [], 'Object.prototype has own enumerable properties');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).deletionTimestamp, undefined);
}

describe('patches never reach Object.prototype', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    const res = await fetch(api.url + CM, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, data: { a: '1' } }) });
    assert.equal(res.status, 201);
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  for (const [type, contentType] of Object.entries(TYPES) as Array<[keyof typeof TYPES, string]>) {
    test(`${type} patch over REST`, async () => {
      for (const p of POISON[type]) {
        const body = bodyOf(withProtoKeys(p));
        assert.match(body, /__proto__|constructor|\$setElementOrder/);
        const res = await fetch(`${api.url}${CM}/target?fieldManager=t`, { method: 'PATCH', headers: { 'content-type': contentType }, body });
        const st = await res.json() as { kind: string; code?: number; message?: string; metadata?: { name: string } };
        // Server-side apply of an undeclared field is Kubernetes' 500 "failed to create typed patch object".
        const applyUnknown = res.status === 500 && /^failed to create typed patch object .*field not declared in schema/.test(st.message ?? '');
        assert.ok(res.status === 200 || applyUnknown || (res.status >= 400 && res.status < 500 && st.kind === 'Status'), `${res.status} ${JSON.stringify(st)}`);
        assertPrototypeClean();
      }
      // The object is still there, not marked for deletion, and other writes still work.
      const cm = await (await fetch(`${api.url}${CM}/target`)).json() as { metadata: Record<string, unknown> };
      assert.equal(cm.metadata.deletionTimestamp, undefined);
      const created = await fetch(api.url + CM, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `after-${type}` } }) });
      assert.equal(created.status, 201);
    });
  }

  test('every patch type over gRPC', async (t) => {
    const client = new GrpcApiClient({ server: api.grpcAddress });
    for (const type of ['json', 'merge', 'strategic'] as const) {
      for (const p of POISON[type]) {
        await client.patch({ group: '', resource: 'configmaps' }, 'default', 'target', JSON.parse(bodyOf(withProtoKeys(p))), { type })
          .catch((e: { code?: string }) => assert.ok(e.code, String(e)));
        assertPrototypeClean();
      }
    }
    const cm = await client.get({ group: '', resource: 'configmaps' }, 'default', 'target');
    assert.equal(cm.metadata.deletionTimestamp, undefined);
    t.after(() => (client as unknown as { close?: () => void }).close?.());
  });

  test('a "__proto__" map key is kept as data, as Kubernetes keeps it', async () => {
    const res = await fetch(`${api.url}${CM}/target`, { method: 'PATCH', headers: { 'content-type': TYPES.merge },
      body: '{"data":{"__proto__":"plain value"}}' });
    assert.equal(res.status, 200);
    const cm = JSON.parse(await res.text()) as { data: Record<string, unknown> };
    assert.ok(Object.prototype.hasOwnProperty.call(cm.data, '__proto__'));
    assertPrototypeClean();
  });
});
