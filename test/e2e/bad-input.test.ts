// Bad input gets a clear Kubernetes Status with the right code, and the apiserver never falls
// over: the named cases first, then a few hundred generated bad requests (seeded, repeatable).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';

interface Answer { status: number; body: any; text: string }

describe('bad input', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  before(async () => { api = await testApiServer({ after: (fn) => cleanups.push(fn) }); });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  async function req(method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<Answer> {
    const res = await fetch(api.url + path, { method, body, headers: body !== undefined ? { 'content-type': contentType } : {} });
    const text = await res.text();
    let parsed: any;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    return { status: res.status, body: parsed, text };
  }
  const isStatus = (a: Answer, code: number, reason?: string) => {
    assert.equal(a.status, code, a.text.slice(0, 300));
    assert.equal(a.body?.kind, 'Status');
    assert.equal(a.body.code, code);
    assert.equal(a.body.status, 'Failure');
    if (reason) assert.equal(a.body.reason, reason);
  };
  const PODS = '/api/v1/namespaces/default/pods';

  test('the named cases', async () => {
    isStatus(await req('POST', PODS, '{"metadata": {"name": "x"'), 400, 'BadRequest');
    isStatus(await req('POST', PODS, 'metadata: [unclosed\n  - x: {', 'application/yaml'), 400, 'BadRequest');
    const inv = await req('POST', PODS, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'noimage' }, spec: { containers: [{ name: 'c' }] } }));
    isStatus(inv, 422, 'Invalid');
    assert.equal(inv.body.message, 'Pod "noimage" is invalid: spec.containers[0].image: Required value');
    assert.deepEqual(inv.body.details.causes, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' }]);
    const big = await req('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } }));
    isStatus(big, 413, 'RequestEntityTooLarge');
    assert.equal(big.body.message, 'Request entity too large: limit is 3145728');
    isStatus(await req('GET', '/api/v1/namespaces/default/foos'), 404, 'NotFound');
    isStatus(await req('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
    const nons = await req('POST', '/api/v1/namespaces/nowhere/configmaps', JSON.stringify({ metadata: { name: 'c' } }));
    isStatus(nons, 404, 'NotFound');
    assert.equal(nons.body.message, 'namespaces "nowhere" not found');
    isStatus(await req('GET', `${PODS}?watch=true&resourceVersion=garbage`), 400, 'BadRequest');
    isStatus(await req('GET', '/api/v1/pods?labelSelector=a%20in%20b'), 400, 'BadRequest');
    isStatus(await req('GET', '/api/v1/pods?fieldSelector=spec.image%3Dx'), 400, 'BadRequest');
    isStatus(await req('PATCH', `${PODS}/x`, '{}', 'text/plain'), 415, 'UnsupportedMediaType');
  });

  test('300 generated bad requests: every one a 4xx Status, and the server still serves', async () => {
    let seed = 42;
    const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const json = (o: unknown) => JSON.stringify(o);
    const nested = (d: number): unknown => (d === 0 ? 1 : { a: nested(d - 1) });
    const paths = [PODS, '/api/v1/namespaces/default/services', '/apis/apps/v1/namespaces/default/deployments', '/api/v1/namespaces',
      '/apis/batch/v1/namespaces/default/cronjobs', '/api/v1/nodes', '/apis/coordination.k8s.io/v1/namespaces/default/leases'];
    const generators: Array<() => [string, string, (string | Buffer)?, string?]> = [
      () => ['POST', pick(paths), randomBytes(1 + Math.floor(rand() * 200))],
      () => ['POST', pick(paths), json(pod).slice(0, Math.floor(rand() * 60))],
      () => ['POST', pick(paths), json({ ...pod, kind: pick(['Secret', 'Foo', 42, null]) })],
      () => ['POST', pick(paths), json({ ...pod, apiVersion: pick(['v2', 'apps/v9', '', 7]) })],
      () => ['POST', pick(paths), json(nested(50 + Math.floor(rand() * 400)))],
      () => ['POST', pick(paths), json(Array.from({ length: 1000 + Math.floor(rand() * 20000) }, (_, i) => i))],
      () => ['POST', pick(paths), json({ metadata: pick([[], 'x', 5, null, { name: 5 }, { name: '' }, { labels: 'x' }, { labels: { 'bad key!': 'v' } }, { annotations: [1] }]), spec: {} })],
      () => ['POST', pick(paths), json({ metadata: { name: `n${Math.floor(rand() * 1e6)}` }, spec: pick(['x', 5, [], { containers: 'x' }, { containers: [5] }, { containers: [{ name: 5, image: [] }] }, { replicas: -1 }, { ports: 'x' }, { selector: 'x' }, { template: 'x' }, { schedule: 5 }]) })],
      () => ['POST', pick(paths), json(pick([[], 'string', 5, true, null]))],
      () => ['GET', `${pick(paths)}?labelSelector=${encodeURIComponent(pick(['a in b', '=x', 'a==b==c', '!', 'a in (', '-x', 'a notin ()']))}`],
      () => ['GET', `${pick(paths)}?fieldSelector=${encodeURIComponent(pick(['spec.foo=x', 'x', '==', 'metadata.name==a=b,spec.bar=1']))}`],
      () => ['GET', `${pick(paths)}?watch=true&resourceVersion=${encodeURIComponent(pick(['abc', '-1', '1.5', '1e3', ' ', '0x10']))}`],
      () => ['GET', `${pick(paths)}?limit=${pick(['abc', '1.5', '--'])}`],
      () => ['GET', `${pick(paths)}?continue=${pick(['garbage', 'eyJ2IjoxfQ', '%%%'])}`],
      () => ['PATCH', `${PODS}/p${Math.floor(rand() * 3)}`, pick(['{', '[1,2', 'null', '"x"', '[{"op":"explode"}]', '[{"op":"replace","path":"/no/such","value":1}]']), pick(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'])],
      () => ['PATCH', pick(paths), '{}', 'application/merge-patch+json'],
      () => ['DELETE', `${PODS}/nope${Math.floor(rand() * 100)}`, pick(['{', '{"gracePeriodSeconds":"x"}', '{"propagationPolicy":"Sometimes"}', '[]'])],
      () => ['PUT', `${pick(paths)}/${pick(['a', 'B_ad', 'x'.repeat(300)])}`, json({ metadata: { name: 'other' } })],
      () => [pick(['PUT', 'PATCH', 'POST']), pick(['/api/v1/namespaces/default/pods/x/log', '/api/v1/foo', '/apis/apps/v2/deployments', '/api/v1/namespaces/default/pods/x/y/z'])],
      () => ['POST', PODS, 'kind: Pod\n\tbad: [', 'application/yaml'],
      () => ['POST', PODS, randomBytes(40), 'application/vnd.kubernetes.protobuf'],
      () => ['POST', `${PODS}/p0/binding`, json(pick([{}, { target: 5 }, { target: { kind: 'Pod', name: 'x' } }]))],
    ];
    const failures: string[] = [];
    for (let i = 0; i < 300; i++) {
      const [method, path, body, ct] = pick(generators)();
      let a: Answer;
      try {
        a = await req(method, path, body, ct);
      } catch (err) {
        failures.push(`${method} ${path}: request failed: ${(err as Error).message}`);
        continue;
      }
      if (a.status >= 500 || a.status < 400 || a.body?.kind !== 'Status' || a.body.code !== a.status) {
        if (a.status < 300 && method !== 'GET') continue; // a random request that happens to be valid is fine
        if (a.status >= 400 && a.status < 500 && a.body?.kind === 'Status') continue;
        failures.push(`${method} ${path} [${ct ?? 'application/json'}] ${String(body).slice(0, 80)} → ${a.status} ${a.text.slice(0, 160)}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal((await req('GET', '/readyz')).text, 'ok');
    const ok = await req('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'still-works' }, data: { a: 'b' } }));
    assert.equal(ok.status, 201);
    assert.equal((await req('GET', '/api/v1/namespaces/default/configmaps/still-works')).body.data.a, 'b');
  });
});
