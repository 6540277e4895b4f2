// Error bodies over the wire, byte for byte as kube-apiserver writes them: metav1.Status' fields in its struct's
// order (kind, apiVersion, metadata, status, message, reason, details, code), Go's escaping and one trailing
// newline, as application/json. Clients (client-go's tests, the official clients' e2e suites) compare them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { testApiServer } from '../../test/harness/apiserver.ts';

const ORDER = ['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'details', 'code'];

function request(url: string, method: string, body?: string, type = 'application/json'): Promise<{ code: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body === undefined ? {} : { 'Content-Type': type } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => resolve({ code: res.statusCode!, type: String(res.headers['content-type']), text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer`)));
    req.on('error', reject).end(body);
  });
}

test('Status error bodies: field order, escaping and the trailing newline of kube-apiserver', async (t) => {
  const api = await testApiServer(t);
  const ns = `${api.url}/api/v1/namespaces/default`;
  const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dup' } });
  assert.equal((await request(`${ns}/configmaps`, 'POST', cm)).code, 201);

  const cases: Array<[string, string, string | undefined, string?]> = [
    ['not found', `${ns}/configmaps/missing`, undefined],
    ['already exists', `${ns}/configmaps`, cm],
    ['invalid', `${ns}/configmaps`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_<Name>' } })],
    ['bad query', `${ns}/configmaps?limit=x`, undefined],
    ['unsupported patch', `${ns}/configmaps/dup`, '{}', 'application/unknown-patch'],
  ];
  for (const [what, url, body, type] of cases) {
    const method = type ? 'PATCH' : body === undefined ? 'GET' : 'POST';
    const res = await request(url, method, body, type);
    assert.ok(res.code >= 400, `${what}: ${res.code}`);
    assert.equal(res.type, 'application/json', what);
    assert.ok(res.text.endsWith('}\n') && !res.text.endsWith('\n\n'), `${what}: one trailing newline: ${JSON.stringify(res.text)}`);
    assert.ok(!/[<>&]/.test(res.text), `${what}: <, > and & escaped as Go does: ${res.text}`);
    const status = JSON.parse(res.text);
    const keys = Object.keys(status);
    assert.deepEqual(keys, ORDER.filter((k) => keys.includes(k)), `${what}: field order ${keys.join(',')}`);
    assert.deepEqual(keys.slice(0, 4), ['kind', 'apiVersion', 'metadata', 'status'], what);
    assert.equal(status.code, res.code, what);
    assert.equal(keys.at(-1), 'code', what);
  }
  // One in full, as kube-apiserver answers a GET of a missing ConfigMap.
  assert.equal((await request(`${ns}/configmaps/missing`, 'GET')).text,
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \\"missing\\" not found","reason":"NotFound","details":{"name":"missing","kind":"configmaps"},"code":404}\n');
});
