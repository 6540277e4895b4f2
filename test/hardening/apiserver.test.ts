// Issue 13, the apiserver's items one by one: oversized objects (2), compaction (8), gRPC watch errors (9),
// nesting and YAML aliases (10), slow clients (11), Host/Origin and etcd's CORS (12), and the low items (13).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { GrpcApiClient } from '../../client/grpc-client.ts';
import { EtcdStore } from '../../apiserver/storage/etcd-store.ts';
import type { KubeObject } from '../../api/types.ts';

interface Answer { status: number; body: any; text: string; headers: Headers }
const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';

describe('apiserver hardening', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) },
      { compactionIntervalMs: 300, httpLimits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } });
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  async function req(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(api.url + path, { method, body, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } });
    const text = await res.text();
    let parsed: any;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    return { status: res.status, body: parsed, text, headers: res.headers };
  }
  const isStatus = (a: Answer, code: number, reason?: string, message?: string | RegExp) => {
    assert.equal(a.status, code, a.text.slice(0, 300));
    assert.equal(a.body?.kind, 'Status', a.text.slice(0, 300));
    assert.equal(a.body.code, code);
    if (reason) assert.equal(a.body.reason, reason);
    if (typeof message === 'string') assert.equal(a.body.message, message);
    else if (message) assert.match(a.body.message, message);
  };
  const cm = (name: string, data: Record<string, string> = {}) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
  const deploy = (name: string, extra: Record<string, unknown> = {}, env = '') => JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, ...extra,
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx', ...(env ? { env: [{ name: 'BIG', value: env }] } : {}) }] } } },
  });

  test('item 2: an object over etcd\'s request limit fails alone; the apiserver stays ready', async () => {
    // A 2 MiB ConfigMap: Kubernetes' 1 MiB ConfigMap limit (a 422), never a write to etcd.
    isStatus(await req('POST', CM, cm('big', { a: 'x'.repeat(2 * 1024 * 1024) })), 422, 'Invalid', /Too long: may not be more than 1048576 bytes/);
    // A 1.6 MiB Deployment has no kind limit: etcd's request limit answers it, before it is sent.
    for (let i = 0; i < 5; i++) {
      const [big, ready, other] = await Promise.all([
        req('POST', DEPLOY, deploy(`big-${i}`, {}, 'y'.repeat(1.6 * 1024 * 1024))),
        req('GET', '/readyz'),
        req('POST', CM, cm(`small-${i}`)),
      ]);
      isStatus(big, 413, 'RequestEntityTooLarge', 'etcdserver: request is too large');
      assert.equal(ready.status, 200);
      assert.equal(other.status, 201, other.text);
      assert.equal((await req('GET', '/readyz')).status, 200);
    }
  });

  test('item 2: etcd refusing a request (RESOURCE_EXHAUSTED) opens no breaker: the next request succeeds at once', async () => {
    // A store that does not pre-check (limit set above etcd's) so the big write reaches etcd and is refused there.
    const store = new EtcdStore({ endpoints: [api.etcd.endpoint], maxRequestBytes: 64 * 1024 * 1024 });
    try {
      const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw-big', namespace: 'default' }, data: { a: 'z'.repeat(2 * 1024 * 1024) } } as KubeObject;
      for (let i = 0; i < 4; i++) {
        await assert.rejects(store.create('/test/raw-big', big), /request is too large|exhausted/i);
        const t0 = Date.now();
        await store.create(`/test/raw-small-${i}`, { ...big, data: {} } as KubeObject);
        assert.ok(Date.now() - t0 < 1000, 'the next write was not delayed');
        assert.equal((await req('GET', '/readyz')).status, 200);
      }
    } finally { await store.close(); }
  });

  test('item 6: a subPath or subPathExpr that leaves its volume is refused', async () => {
    const pod = (mount: Record<string, unknown>) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'subpath' },
      spec: { volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/host-etc', ...mount }] }] } });
    const PODS = '/api/v1/namespaces/default/pods';
    isStatus(await req('POST', PODS, pod({ subPath: '../../../../etc' })), 422, 'Invalid', /spec.containers\[0\].volumeMounts\[0\].subPath: Invalid value: "..\/..\/..\/..\/etc": must not contain '..'/);
    isStatus(await req('POST', PODS, pod({ subPath: '/etc' })), 422, 'Invalid', /subPath: Invalid value: "\/etc": must be a relative path/);
    isStatus(await req('POST', PODS, pod({ subPathExpr: 'a/../../$(X)' })), 422, 'Invalid', /subPathExpr: Invalid value: "a\/..\/..\/\$\(X\)": must not contain '..'/);
    isStatus(await req('POST', PODS, pod({ subPath: 'a', subPathExpr: 'b' })), 422, 'Invalid', /mutually exclusive/);
    assert.equal((await req('POST', `${PODS}?dryRun=All`, pod({ subPath: 'inside/dir' }))).status, 201);
  });

  test('item 8: etcd is compacted; a watch from a compacted revision answers 410 Expired', async () => {
    const first = await req('POST', CM, cm('compact-me'));
    const rv = Number(first.body.metadata.resourceVersion);
    for (let i = 0; i < 3; i++) await req('PUT', `${CM}/compact-me`, cm('compact-me', { i: String(i) }));
    await new Promise((r) => setTimeout(r, 1200)); // the compactor runs every 300 ms here, keeping one period
    const res = await fetch(`${api.url}${CM}?watch=true&resourceVersion=${rv}`);
    const text = await res.text();
    // kube-apiserver answers 200 with one ERROR event, or a 410 Status: either way a 410 Expired.
    const status = res.status === 200 ? JSON.parse(text.split('\n')[0]).object : JSON.parse(text);
    assert.equal(status.code, 410, text.slice(0, 300));
    assert.equal(status.reason, 'Expired');
  });

  test('item 9: gRPC watch errors end the stream with a status carrying the Kubernetes Status', async () => {
    const client = new GrpcApiClient({ server: api.grpcAddress });
    try {
      const drain = async (rv: string, fieldSelector?: string) => {
        const w = await client.watch({ group: '', resource: 'configmaps' }, 'default', { resourceVersion: rv, fieldSelector });
        const t0 = Date.now();
        try {
          // An expired watch may also end with an ERROR event carrying the 410 Status, as over HTTP.
          for await (const ev of w) if (ev.type === 'ERROR') return { err: { code: (ev.object as any).reason, message: (ev.object as any).message }, ms: Date.now() - t0 };
        } catch (e) { return { err: e as { code: string; message: string }, ms: Date.now() - t0 }; }
        return { err: undefined, ms: Date.now() - t0 };
      };
      const bad = await drain('abc');
      assert.equal(bad.err?.code, 'BadRequest');
      assert.match(bad.err!.message, /invalid resource version/);
      const sel = await drain('', 'spec.nope=1');
      assert.equal(sel.err?.code, 'BadRequest');
      for (let i = 0; i < 3; i++) await req('POST', CM, cm(`grpc-history-${i}`));
      await new Promise((r) => setTimeout(r, 1200)); // compacted past revision 2 by now
      const old = await drain('2');
      assert.equal(old.err?.code, 'Expired');
      for (const r of [bad, sel, old]) assert.ok(r.ms < 5000);
    } finally { await client.close(); }
    // Unauthenticated: a server with tokens answers UNAUTHENTICATED on the stream.
    const secured = await testApiServer({ after: (fn) => cleanups.push(fn) }, { etcd: api.etcd, tokens: new Map([['t0k3n', { username: 'admin', groups: ['system:masters'] }]]) });
    const anon = new GrpcApiClient({ server: secured.grpcAddress });
    try {
      const w = await anon.watch({ group: '', resource: 'configmaps' }, 'default', {});
      await assert.rejects((async () => { for await (const _ of w) { /* none */ } })(), (e: { code: string }) => e.code === 'Unauthorized');
    } finally { await anon.close(); }
  });

  test('item 10: nesting to 10000 deep is parsed, deeper is a 400; a YAML alias bomb is a 400', async () => {
    const nested = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    const body = (d: number) => `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep-${d}","annotations":{}},"extra":${nested(d)}}`;
    for (const d of [3000, 9990]) {
      const a = await req('POST', `${CM}?fieldValidation=Ignore`, body(d));
      assert.ok(a.status < 500, `${d}: ${a.status} ${a.text.slice(0, 200)}`);
    }
    isStatus(await req('POST', CM, body(10_001)), 400, 'BadRequest', /exceeded max depth/);
    const bomb = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n' +
      'a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
      ['b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`).join('\n') + '\n';
    isStatus(await req('POST', CM, bomb, { 'content-type': 'application/yaml' }), 400, 'BadRequest', 'yaml: document contains excessive aliasing');
    assert.equal((await req('GET', '/readyz')).status, 200);
  });

  test('item 11: a client that sends its headers slowly is cut off; a watch outlives the request timeout', async () => {
    const { hostname, port } = new URL(api.url);
    const closedAfter = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = net.connect(Number(port), hostname, () => s.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      const drip = setInterval(() => s.write('X-Slow: 1\r\n'), 200);
      s.on('data', () => {});
      s.on('close', () => { clearInterval(drip); resolve(Date.now() - t0); });
      s.on('error', () => {});
      setTimeout(() => s.destroy(), 15_000);
    });
    assert.ok(closedAfter < 5000, `closed after ${closedAfter} ms`);
    const ac = new AbortController();
    const res = await fetch(`${api.url}${CM}?watch=true`, { signal: ac.signal });
    const reader = res.body!.getReader();
    const t0 = Date.now();
    await req('POST', CM, cm('watched-late'));
    await new Promise((r) => setTimeout(r, 3000)); // past the 2 s request timeout
    await req('POST', CM, cm('watched-later'));
    let seen = '';
    while (!seen.includes('watched-later')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString();
    }
    assert.ok(seen.includes('watched-later'), 'the watch still streams');
    assert.ok(Date.now() - t0 >= 3000);
    ac.abort();
  });

  test('item 12: foreign Host and Origin headers are refused; etcd sends no CORS header and refuses foreign hosts', async () => {
    const { port } = new URL(api.url);
    const raw = (headers: string) => new Promise<string>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write(`GET /api/v1/namespaces HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`));
      let out = ''; s.on('data', (d) => { out += d; }); s.on('end', () => resolve(out)); s.on('error', () => resolve(out));
    });
    assert.match(await raw('Host: evil.example\r\n'), /^HTTP\/1.1 403/);
    assert.match(await raw(`Host: 127.0.0.1:${port}\r\n`), /^HTTP\/1.1 200/);
    assert.match(await raw(`Host: localhost:${port}\r\n`), /^HTTP\/1.1 200/);
    assert.match(await raw(`Host: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\n`), /^HTTP\/1.1 403/);
    const etcd = await fetch(`${api.etcd.endpoint}/version`, { headers: { Origin: 'http://evil.example' } });
    assert.equal(etcd.status, 200);
    assert.equal(etcd.headers.get('access-control-allow-origin'), null);
    const etcdPort = new URL(api.etcd.endpoint).port;
    const foreign = await new Promise<string>((resolve) => {
      const s = net.connect(Number(etcdPort), '127.0.0.1', () => s.write('GET /version HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'));
      let out = ''; s.on('data', (d) => { out += d; }); s.on('end', () => resolve(out)); s.on('error', () => resolve(out));
    });
    assert.match(foreign, /^HTTP\/1.1 421/);
  });

  test('item 13: the low items each get Kubernetes\' answer', async () => {
    const d = (name: string, spec: Record<string, unknown>) => deploy(name, spec);
    isStatus(await req('POST', DEPLOY, d('huge', { replicas: 2 ** 53 })), 400, 'BadRequest', /cannot unmarshal number 9007199254740992 into Go struct field DeploymentSpec.spec.replicas of type int32/);
    isStatus(await req('POST', DEPLOY, d('surge', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'abc' } } })), 422, 'Invalid',
      /spec.strategy.rollingUpdate.maxSurge: Invalid value: "abc": a valid percent string/);
    isStatus(await req('POST', CM, JSON.stringify({ metadata: { name: 'fin', finalizers: ['not a name!'] } })), 422, 'Invalid', /metadata.finalizers/);
    const longKey = 'k'.repeat(64);
    isStatus(await req('GET', `${CM}?labelSelector=${longKey}%3Dv`), 400, 'BadRequest', /must be no more than 63 characters/);
    isStatus(await req('POST', DEPLOY, JSON.stringify({ ...JSON.parse(d('sel', {})), spec: { ...JSON.parse(d('sel', {})).spec, selector: { matchLabels: { [longKey]: 'v' } } } })), 422, 'Invalid', /must be no more than 63 characters/);
    const made = await req('POST', CM, cm('uid-target'));
    isStatus(await req('PATCH', `${CM}/uid-target`, JSON.stringify([{ op: 'replace', path: '/metadata/uid', value: 'other' }]), { 'content-type': 'application/json-patch+json' }), 422, 'Invalid', /metadata.uid: Invalid value: "other": field is immutable/);
    isStatus(await req('PUT', `${CM}/uid-target`, JSON.stringify({ ...made.body, metadata: { ...made.body.metadata, uid: 'other', resourceVersion: undefined } })), 409, 'Conflict', /Precondition failed: UID in precondition: other/);
    isStatus(await req('DELETE', `${CM}/uid-target`, JSON.stringify({ preconditions: 'x' })), 400, 'BadRequest', /cannot unmarshal string into Go struct field DeleteOptions.preconditions/);
    assert.equal((await req('GET', `${CM}/uid-target`)).status, 200, 'not deleted');
    isStatus(await req('POST', '/api/v1/configmaps', cm('no-namespace')), 405, 'MethodNotAllowed');
    assert.equal((await req('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Dno-namespace')).body.items.length, 0);
    isStatus(await req('GET', `${CM}/a%zzb`), 400, 'BadRequest', /invalid URL escape "%zz"/);
    const t0 = Date.now();
    isStatus(await req('GET', `${CM}?watch=true&resourceVersion=999999999`), 504, 'Timeout', /Too large resource version: 999999999, current: \d+/);
    assert.ok(Date.now() - t0 >= 2500 && Date.now() - t0 < 10_000);
    isStatus(await req('GET', `${CM}?resourceVersion=abc`), 400, 'BadRequest', /invalid resource version/);
    isStatus(await req('GET', `${CM}/uid-target?resourceVersion=abc`), 400, 'BadRequest', /invalid resource version/);
    // A 10 MB body with Content-Length: always the 413 Status, never a reset.
    for (let i = 0; i < 3; i++) {
      isStatus(await req('POST', CM, Buffer.alloc(10 * 1024 * 1024, 0x20)), 413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    }
    const cron = (schedule: string) => JSON.stringify({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: `c-${schedule.replace(/[^a-z]/g, '')}` },
      spec: { schedule, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } } });
    for (const s of ['@daily', '@hourly', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@every 1h']) {
      const a = await req('POST', '/apis/batch/v1/namespaces/default/cronjobs', cron(s));
      assert.equal(a.status, 201, `${s}: ${a.text.slice(0, 200)}`);
    }
    isStatus(await req('POST', '/apis/batch/v1/namespaces/default/cronjobs', cron('TZ=UTC 0 * * * *')), 422, 'Invalid', /cannot use TZ or CRON_TZ in schedule/);
  });
});
