// Issue 13's fuzz test: a few thousand generated requests — every patch type, bodies valid, mutated and broken,
// query parameters and paths — against a real apiserver over a real etcd, in this process. Seeded and
// reproducible: KUBEMU_FUZZ_SEED=<n> replays a run, KUBEMU_FUZZ_REQUESTS=<n> changes its length. It asserts that
//   - the apiserver stays ready;
//   - every error is a Kubernetes Status whose code is the HTTP status, and no request gets a 5xx (except a
//     server-side apply that does not fit the schema: Kubernetes' field manager answers that with its own 500,
//     "failed to create typed patch object");
//   - no stored object changes except by a request that answered 2xx (and was not a dry run): after every write
//     the target object is read back and compared with the model of what the successful requests did; objects
//     in another namespace (the sentinels) never change at all;
//   - Object.prototype has no own enumerable property.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';

const SEED = Number(process.env.KUBEMU_FUZZ_SEED ?? 20261202);
const REQUESTS = Number(process.env.KUBEMU_FUZZ_REQUESTS ?? 3000);
const NS = 'fuzz';

interface Kind { path: string; kind: string; apiVersion: string; sample: (name: string) => Record<string, any> }
const container = { name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }] };
const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [container] } });
const KINDS: Kind[] = [
  { path: `/api/v1/namespaces/${NS}/configmaps`, kind: 'ConfigMap', apiVersion: 'v1', sample: (name) => ({ metadata: { name, labels: { app: 'x' } }, data: { a: '1', b: 'two' } }) },
  { path: `/api/v1/namespaces/${NS}/secrets`, kind: 'Secret', apiVersion: 'v1', sample: (name) => ({ metadata: { name }, type: 'Opaque', stringData: { user: 'u' } }) },
  { path: `/api/v1/namespaces/${NS}/pods`, kind: 'Pod', apiVersion: 'v1', sample: (name) => ({ metadata: { name, labels: { app: 'x' } }, spec: template('x').spec }) },
  { path: `/api/v1/namespaces/${NS}/services`, kind: 'Service', apiVersion: 'v1', sample: (name) => ({ metadata: { name }, spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }) },
  { path: `/apis/apps/v1/namespaces/${NS}/deployments`, kind: 'Deployment', apiVersion: 'apps/v1', sample: (name) => ({ metadata: { name }, spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template(name) } }) },
  { path: `/apis/batch/v1/namespaces/${NS}/cronjobs`, kind: 'CronJob', apiVersion: 'batch/v1', sample: (name) => ({ metadata: { name }, spec: { schedule: '@hourly', jobTemplate: { spec: { template: { spec: { ...template('j').spec, restartPolicy: 'Never' } } } } } }) },
];
const NAMES = ['a', 'b', 'c', 'd', 'e'];

/** mulberry32: small, seedable, good enough to pick things. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req { method: string; path: string; body?: string; contentType?: string; kind: Kind; name?: string; write: boolean; dryRun: boolean }

function generator(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number) => rand() < p;
  const junk = (): unknown => pick([null, 0, -1, 2 ** 31, 2 ** 53, 1.5, '', 'x', 'abc%', true, [], [1, 'a'], {}, { a: { b: [] } }, '__proto__', { __proto__x: 1 }]);
  const rawKey = () => pick(['__proto__', 'constructor', 'prototype', 'spec', 'metadata', 'status', 'imagee', 'replica', 'x'.repeat(70), 'a/b', '$patch', '$retainKeys']);
  /** Change one random place of a JSON value: delete it, give it a wrong type, or add an unknown key. */
  function mutate(v: any, depth = 0): any {
    if (depth > 6 || v === null || typeof v !== 'object') return chance(0.5) ? junk() : v;
    const copy: any = Array.isArray(v) ? [...v] : { ...v };
    const keys = Object.keys(copy);
    const r = rand();
    if (r < 0.15 || keys.length === 0) copy[Array.isArray(copy) ? copy.length : rawKey()] = junk();
    else if (r < 0.3) delete copy[pick(keys)];
    else { const k = pick(keys); copy[k] = mutate(copy[k], depth + 1); }
    return copy;
  }
  // "__proto__x" is rewritten to a literal "__proto__" key in the JSON text (an object literal cannot hold one).
  const text = (v: unknown) => JSON.stringify(v).replace(/"__proto__x"/g, '"__proto__"');
  const nested = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
  const query = (write: boolean): { q: string; dryRun: boolean } => {
    const parts: string[] = [];
    let dryRun = false;
    if (chance(0.3)) parts.push(`fieldValidation=${pick(['Strict', 'Warn', 'Ignore', 'strict', 'Bogus'])}`);
    if (write && chance(0.15)) { const d = pick(['All', 'Bogus', '']); if (d === 'All') dryRun = true; parts.push(`dryRun=${d}`); }
    if (chance(0.2)) parts.push(`fieldManager=${pick(['fuzz', 'kubectl', '', 'x'.repeat(200)])}`);
    if (chance(0.1)) parts.push(`resourceVersion=${pick(['0', '1', 'abc', '-1', '99999999999999999999'])}`);
    if (chance(0.1)) parts.push(`labelSelector=${encodeURIComponent(pick(['app=x', 'a in (b', 'k'.repeat(70) + '=v', '!x', 'app notin (x,y)']))}`);
    if (chance(0.05)) parts.push(`fieldSelector=${encodeURIComponent(pick(['metadata.name=a', 'spec.x=1', '==']))}`);
    if (chance(0.05)) parts.push(`limit=${pick(['1', '-5', 'abc', '2'])}`);
    if (chance(0.05)) parts.push(`force=${pick(['true', 'false', 'x'])}`);
    if (chance(0.05)) parts.push(`gracePeriodSeconds=${pick(['0', '-1', 'x', '30'])}`);
    if (chance(0.03)) parts.push(pick(['%zz', 'a=%', '__proto__=1', 'constructor[x]=1']));
    return { q: parts.length ? `?${parts.join('&')}` : '', dryRun };
  };
  const jsonPatch = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
    const op = pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']);
    const path = pick(['/metadata/labels/x', '/metadata/labels', '/data/a', '/spec/replicas', '/spec/template/spec/containers/0/image', '/__proto__/polluted',
      '/metadata/__proto__/x', '/constructor/prototype/x', '/spec/ports/-', '/metadata/uid', '/metadata/name', '/metadata/finalizers', '/spec/containers/9', '', '/']);
    return { op, path, ...(chance(0.8) ? { value: junk() ?? 'v' } : {}), ...(op === 'move' || op === 'copy' ? { from: pick(['/metadata/labels', '/data', '/__proto__', '/nope']) } : {}) };
  });

  return (): Req => {
    const kind = pick(KINDS);
    const name = pick(NAMES);
    const { apiVersion, kind: k } = kind;
    const full = { apiVersion, kind: k, ...kind.sample(name) };
    const r = rand();
    if (r < 0.12) {
      const path = pick([kind.path, `${kind.path}/${name}`, `${kind.path}/${name}/status`, '/api/v1/namespaces/fuzz/foos', `${kind.path}/${pick(['%zz', '..', '__proto__', 'A_B', 'x'.repeat(300)])}`]);
      return { method: 'GET', path: path + query(false).q, kind, write: false, dryRun: false };
    }
    if (r < 0.4) { // create
      const { q, dryRun } = query(true);
      const body = chance(0.35) ? full : mutate(full);
      const raw = chance(0.06) ? pick(['{', '[1,2', 'null', '"x"', `{"metadata":${nested(pick([50, 3000, 10_001]))}}`, 'a: &a [1]\nb: *a']) : text(body);
      const contentType = raw.startsWith('a: &') ? 'application/yaml' : pick(['application/json', 'application/json', 'application/json', 'application/yaml', 'text/plain']);
      const bodyName = typeof body?.metadata?.name === 'string' ? body.metadata.name : undefined;
      return { method: 'POST', path: kind.path + q, body: raw, contentType, kind, name: bodyName, write: true, dryRun };
    }
    if (r < 0.55) { // replace
      const { q, dryRun } = query(true);
      return { method: 'PUT', path: `${kind.path}/${name}${chance(0.1) ? '/status' : ''}${q}`, body: text(chance(0.3) ? full : mutate(full)), contentType: 'application/json', kind, name, write: true, dryRun };
    }
    if (r < 0.88) { // patch
      const { q, dryRun } = query(true);
      const type = pick(['json', 'merge', 'strategic', 'apply'] as const);
      const contentType = { json: 'application/json-patch+json', merge: 'application/merge-patch+json', strategic: 'application/strategic-merge-patch+json', apply: 'application/apply-patch+yaml' }[type];
      const partial = mutate(pick([{ metadata: { labels: { x: 'y' } } }, { data: { a: 'patched' } }, { spec: { replicas: 3 } },
        { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } } } }, { metadata: { finalizers: ['example.com/f'] } }, { __proto__x: { polluted: 1 } }]));
      const body = type === 'json' ? text(jsonPatch()) : type === 'apply' ? text(chance(0.5) ? full : mutate(full)) : text(partial);
      const sub = chance(0.1) ? pick(['/status', '/scale']) : '';
      const mq = type === 'apply' && !q.includes('fieldManager') && chance(0.7) ? `${q ? `${q}&` : '?'}fieldManager=fuzz` : q;
      return { method: 'PATCH', path: `${kind.path}/${name}${sub}${mq}`, body, contentType: chance(0.03) ? 'text/plain' : contentType, kind, name, write: true, dryRun };
    }
    // delete
    const { q, dryRun } = query(true);
    const body = chance(0.3) ? text(pick([{ preconditions: pick(['x', { uid: 'nope' }, { resourceVersion: '1' }, 5]) }, { gracePeriodSeconds: pick([0, 'x', -1]) },
      { propagationPolicy: pick(['Orphan', 'Sometimes', 5]) }, { dryRun: ['All'] }, '[]'])) : undefined;
    // As kube-apiserver: DeleteOptions come from the body when there is one, and then the query is not read.
    return { method: 'DELETE', path: `${kind.path}/${name}${q}`, body, contentType: body ? 'application/json' : undefined, kind, name, write: true, dryRun: body ? body.includes('"dryRun":["All"]') : dryRun };
  };
}

describe('fuzz: generated requests never corrupt the apiserver', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  before(async () => { api = await testApiServer({ after: (fn) => cleanups.push(fn) }); });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  async function call(method: string, path: string, body?: string, contentType?: string) {
    const res = await fetch(api.url + path, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
    const text = await res.text();
    let json: any;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, json, text };
  }
  /** resourceVersion of every object of the namespace, by "<kind>/<name>". */
  async function snapshot(ns: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const k of KINDS) {
      const list = await call('GET', k.path.replace(`/namespaces/${NS}/`, `/namespaces/${ns}/`));
      assert.equal(list.status, 200, list.text);
      for (const o of list.json.items) out.set(`${k.kind}/${o.metadata.name}`, o.metadata.resourceVersion);
    }
    return out;
  }

  test(`${REQUESTS} requests from seed ${SEED}`, async () => {
    const ns = (name: string) => call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), 'application/json');
    assert.equal((await ns(NS)).status, 201);
    assert.equal((await ns('sentinel')).status, 201);
    for (const k of KINDS) {
      for (const name of NAMES) {
        const body = JSON.stringify({ apiVersion: k.apiVersion, kind: k.kind, ...k.sample(name) });
        assert.equal((await call('POST', k.path.replace(`/namespaces/${NS}/`, '/namespaces/sentinel/'), body, 'application/json')).status, 201);
        if (name < 'c') assert.equal((await call('POST', k.path, body, 'application/json')).status, 201);
      }
    }
    const sentinels = await snapshot('sentinel');
    const model = await snapshot(NS);

    const next = generator(rng(SEED));
    const failures: string[] = [];
    const counts: Record<string, number> = {};
    for (let i = 0; i < REQUESTS && failures.length < 10; i++) {
      const r = next();
      const a = await call(r.method, r.path, r.body, r.contentType);
      const where = `#${i} (KUBEMU_FUZZ_SEED=${SEED}) ${r.method} ${r.path} [${r.contentType ?? '-'}] ${String(r.body ?? '').slice(0, 120)} → ${a.status} ${a.text.slice(0, 200)}`;
      counts[a.status] = (counts[a.status] ?? 0) + 1;
      if (a.status >= 400) {
        const st = a.json;
        if (st?.kind !== 'Status' || st.status !== 'Failure' || st.code !== a.status || typeof st.message !== 'string') failures.push(`not a Status: ${where}`);
        const ssaUndeclared = a.status === 500 && r.contentType === 'application/apply-patch+yaml' && /^failed to create typed patch object /.test(st?.message ?? '');
        if (a.status >= 500 && !ssaUndeclared) failures.push(`server error: ${where}`);
      } else if (a.status < 200 || a.status >= 300) failures.push(`unexpected status: ${where}`);
      const own = Object.keys(Object.prototype);
      if (own.length) { failures.push(`Object.prototype polluted with ${own}: ${where}`); break; }
      if (!r.write) continue;
      // What the store holds now must be what the successful requests made it.
      const changed = a.status < 300 && !r.dryRun;
      if (r.name) { // (an empty name would read the list)
        const key = `${r.kind.kind}/${r.name}`;
        const now = await call('GET', `${r.kind.path}/${encodeURIComponent(r.name)}`);
        const rv = now.status === 200 ? now.json.metadata.resourceVersion : undefined;
        if (changed) { if (rv) model.set(key, rv); else model.delete(key); }
        else if (rv !== model.get(key)) failures.push(`${key} changed (${model.get(key)} → ${rv}) by a request that did not succeed: ${where}`);
      } else {
        const now = await snapshot(NS);
        if (changed) { model.clear(); for (const [k, v] of now) model.set(k, v); }
        else if (JSON.stringify([...now].sort()) !== JSON.stringify([...model].sort())) failures.push(`objects changed by a request that did not succeed: ${where}`);
      }
      if (i % 250 === 0) {
        const ready = await call('GET', '/readyz');
        if (ready.status !== 200) failures.push(`not ready after #${i}: ${ready.text}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal((await call('GET', '/readyz')).text, 'ok');
    assert.deepEqual(await snapshot('sentinel'), sentinels, 'an object outside the fuzzed namespace changed');
    assert.deepEqual(Object.keys(Object.prototype), []);
    // The run exercised both sides: plenty of successes and of refusals.
    const ok = Object.entries(counts).filter(([c]) => Number(c) < 300).reduce((n, [, v]) => n + v, 0);
    assert.ok(ok > REQUESTS / 20 && ok < REQUESTS * 0.9, `successes ${ok} of ${REQUESTS}: ${JSON.stringify(counts)}`);
  });
});
