// Query parameters and error bodies of a real apiserver over a real etcd, compared with what
// kube-apiserver answers (its parameter codec, ValidateListOptions / ValidateDeleteOptions, its encoder).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testApiServer, type TestApiServer } from '../../test/harness/apiserver.ts';

describe('query parameters as kube-apiserver reads them', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  before(async () => { api = await testApiServer({ after: (fn) => cleanups.push(fn) }); });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  const call = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(api.url + p, {
      method, headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });
  const CMS = '/api/v1/namespaces/default/configmaps';

  /** The first line of a watch answer (the connection is cut after it). */
  async function firstWatchLine(query: string): Promise<string> {
    const ac = new AbortController();
    const res = await fetch(`${api.url}${CMS}?${query}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    let buf = '';
    try {
      while (!buf.includes('\n')) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString('utf8');
      }
    } finally { ac.abort(); }
    return buf.split('\n')[0];
  }

  test('watch=True, watch=yes and watch= are watches; watch=False and watch=0 are lists', async () => {
    assert.equal((await call('POST', CMS, cm('w1'))).status, 201);
    for (const v of ['True', 'TRUE', 'yes', '1', '']) {
      const line = JSON.parse(await firstWatchLine(`watch=${v}`));
      assert.equal(line.type, 'ADDED', `watch=${v}`);
      assert.equal(line.object.metadata.name, 'w1');
    }
    for (const v of ['False', 'FALSE', 'false', '0']) {
      const r = await call('GET', `${CMS}?watch=${v}`);
      assert.equal(JSON.parse(r.text).kind, 'ConfigMapList', `watch=${v}`);
    }
  });

  /** The first `n` lines of a watch answer, then the connection is cut. */
  async function watchLines(query: string, n: number, meanwhile?: () => Promise<unknown>): Promise<any[]> {
    const ac = new AbortController();
    const res = await fetch(`${api.url}${CMS}?${query}`, { signal: ac.signal });
    assert.equal(res.status, 200, query);
    const reader = res.body!.getReader();
    let buf = '';
    let started = false;
    try {
      while (buf.split('\n').length <= n) {
        if (!started && meanwhile) { started = true; void meanwhile(); }
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString('utf8');
      }
    } finally { ac.abort(); }
    return buf.split('\n').slice(0, n).map((l) => JSON.parse(l));
  }

  test('WatchList (sendInitialEvents=true): the state as ADDED, a BOOKMARK marking its end, then changes; false: changes only', async () => {
    await call('POST', CMS, cm('wl-a'));
    const names = (JSON.parse((await call('GET', CMS)).text).items as any[]).map((o) => o.metadata.name);
    const lines = await watchLines('watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', names.length + 2,
      () => call('POST', CMS, cm('wl-b')));
    assert.deepEqual(lines.slice(0, names.length).map((l) => `${l.type} ${l.object.metadata.name}`), names.map((n) => `ADDED ${n}`));
    const end = lines[names.length];
    assert.equal(end.type, 'BOOKMARK');
    assert.deepEqual(end.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
    assert.match(end.object.metadata.resourceVersion, /^\d+$/);
    assert.equal(`${lines[names.length + 1].type} ${lines[names.length + 1].object.metadata.name}`, 'ADDED wl-b');
    const none = await watchLines('watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan', 1, () => call('POST', CMS, cm('wl-c')));
    assert.equal(`${none[0].type} ${none[0].object.metadata.name}`, 'ADDED wl-c');
  });

  test('a bad integer is a 400 with strconv.ParseInt\'s error', async () => {
    const r = await call('GET', `${CMS}?limit=abc`);
    assert.equal(r.status, 400);
    assert.equal(r.text, '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"strconv.ParseInt: parsing \\"abc\\": invalid syntax","reason":"BadRequest","code":400}\n');
    const big = await call('GET', `${CMS}?watch=true&timeoutSeconds=99999999999999999999`);
    assert.equal(JSON.parse(big.text).message, 'strconv.ParseInt: parsing "99999999999999999999": value out of range');
    const grace = await call('DELETE', `${CMS}/w1?gracePeriodSeconds=1.5`);
    assert.equal(JSON.parse(grace.text).message, 'strconv.ParseInt: parsing "1.5": invalid syntax');
  });

  test('error bodies: Status fields in kube-apiserver\'s order, HTML escaped, newline-terminated', async () => {
    const r = await call('GET', `${CMS}/no-such<x>`);
    assert.equal(r.status, 404);
    assert.equal(r.text, '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \\"no-such\\u003cx\\u003e\\" not found","reason":"NotFound","details":{"name":"no-such\\u003cx\\u003e","kind":"configmaps"},"code":404}\n');
    const inv = await call('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } });
    assert.equal(inv.status, 422);
    const keys = Object.keys(JSON.parse(inv.text));
    assert.deepEqual(keys, ['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'details', 'code']);
    assert.deepEqual(Object.keys(JSON.parse(inv.text).details), ['name', 'kind', 'causes']);
    assert.deepEqual(Object.keys(JSON.parse(inv.text).details.causes[0]), ['reason', 'message', 'field']);
  });

  test('pretty: indented for pretty=true/1 and for curl; not for pretty=0 or an unparsable value', async () => {
    const get = (q: string, ua?: string) => call('GET', `${CMS}/w1${q}`, undefined, ua ? { 'User-Agent': ua } : {});
    for (const q of ['?pretty=true', '?pretty=1', '?pretty=T']) {
      const r = await get(q);
      assert.match(r.text, /^\{\n {2}"apiVersion": "v1",\n/, q);
      assert.ok(!r.text.endsWith('\n'), q);
    }
    assert.match((await get("", "curl/8.0")).text, /^\{\n {2}"apiVersion"/);
    for (const q of ['?pretty=0', '?pretty=yes', '']) {
      const r = await get(q);
      assert.match(r.text, /^\{"apiVersion":"v1"/, q);
      assert.ok(r.text.endsWith('}\n'), q);
    }
  });

  test('resourceVersionMatch: Exact reads that revision, NotOlderThan now; bad combinations are 422 with Kubernetes\' messages', async () => {
    const first = JSON.parse((await call('POST', CMS, cm('rv1'))).text).metadata.resourceVersion;
    await call('POST', CMS, cm('rv2'));
    const names = (t: string) => JSON.parse(t).items.map((o: any) => o.metadata.name).filter((n: string) => n.startsWith('rv'));
    const exact = await call('GET', `${CMS}?resourceVersion=${first}&resourceVersionMatch=Exact`);
    assert.deepEqual(names(exact.text), ['rv1']);
    assert.equal(JSON.parse(exact.text).metadata.resourceVersion, first);
    const newer = await call('GET', `${CMS}?resourceVersion=${first}&resourceVersionMatch=NotOlderThan`);
    assert.deepEqual(names(newer.text), ['rv1', 'rv2']);
    const bad = [
      [`resourceVersionMatch=Exact`, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'],
      [`resourceVersion=1&resourceVersionMatch=Newest`, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'],
      [`resourceVersion=0&resourceVersionMatch=Exact`, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'],
      [`sendInitialEvents=true`, 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
      [`watch=1&resourceVersionMatch=NotOlderThan`, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'],
      [`watch=1&sendInitialEvents=true`, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'],
      [`watch=1&sendInitialEvents=true&resourceVersionMatch=Exact`, 'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]'],
    ];
    for (const [q, message] of bad) {
      const r = await call('GET', `${CMS}?${q}`);
      assert.equal(r.status, 422, q);
      assert.equal(JSON.parse(r.text).message, message, q);
    }
  });

  test('resourceVersionMatch=Exact on a compacted revision is 410 with etcd3 storage\'s message', async () => {
    const compacting = await testApiServer({ after: (fn) => cleanups.push(fn) }, { compactionIntervalMs: 200 });
    const post = (name: string) => fetch(`${compacting.url}${CMS}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(cm(name)) });
    const old = ((await (await post('c1')).json()) as any).metadata.resourceVersion;
    await post('c2');
    // Until the compactor (every 200 ms, keeping one interval) has passed c1's revision: read at it meanwhile.
    let res: Response;
    for (let deadline = Date.now() + 10_000; ;) {
      await post(`c-${Date.now()}`);
      res = await fetch(`${compacting.url}${CMS}?resourceVersion=${old}&resourceVersionMatch=Exact`);
      if (res.status !== 200 || Date.now() > deadline) break;
      assert.deepEqual(((await res.json()) as any).items.map((o: any) => o.metadata.name), ['c1']);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res.status, 410);
    const status = await res.json() as any;
    assert.equal(status.reason, 'Expired');
    assert.equal(status.message, 'The resourceVersion for the provided list is too old.');
  });

  test('delete: options from the body when there is one, else the query; both orphanDependents and propagationPolicy is a 422', async () => {
    await call('POST', CMS, cm('d1'));
    const both = await call('DELETE', `${CMS}/d1?orphanDependents=True&propagationPolicy=Background`);
    assert.equal(both.status, 422);
    assert.equal(JSON.parse(both.text).message, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set');
    // A body wins: the query's bad policy is not read.
    const withBody = await call('DELETE', `${CMS}/d1?propagationPolicy=Nope`, { propagationPolicy: 'Background' });
    assert.equal(withBody.status, 200);
    const badQuery = await call('DELETE', `${CMS}/w1?propagationPolicy=Nope`);
    assert.equal(badQuery.status, 422);
    assert.match(JSON.parse(badQuery.text).message, /propagationPolicy: Unsupported value: "Nope"/);
  });
});
