// pods/proxy and services/proxy, directly and through the real `kubectl proxy` (how "Kubernetes in Action"
// reaches a Service): the request reaches the pod's HTTP server with its path, query, method and body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { until } from '../harness/kubemu-cluster.ts';

describe('proxy subresources', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let port: number;
  const seen: string[] = [];
  const json = (method: string, p: string, body?: unknown, type = 'application/json') =>
    fetch(api.url + p, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': type } });
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    // The "pod": an HTTP server on loopback that says what it received.
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { seen.push(`${req.method} ${req.url} ${body}`); res.setHeader('X-Pod', 'yes'); res.end(`pod got ${req.method} ${req.url}${body ? ` ${body}` : ''}`); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    port = (server.address() as AddressInfo).port;
    assert.equal((await json('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: port }] }] } })).status, 201);
    assert.equal((await json('PATCH', '/api/v1/namespaces/default/pods/web/status', { status: { podIP: '127.0.0.1' } }, 'application/merge-patch+json')).status, 200);
    assert.equal((await json('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] } })).status, 201);
    assert.equal((await json('POST', '/api/v1/namespaces/default/endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port }] }] })).status, 201);
    assert.equal((await json('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty' },
      spec: { ports: [{ port: 80 }] } })).status, 201);
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('pods/NAME:PORT/proxy and services/NAME:PORT/proxy reach the pod', async () => {
    const a = await fetch(`${api.url}/api/v1/namespaces/default/pods/web:${port}/proxy/hello/world?x=1`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-pod'), 'yes');
    assert.equal(await a.text(), 'pod got GET /hello/world?x=1');
    assert.equal(await (await fetch(`${api.url}/api/v1/namespaces/default/pods/web:http/proxy/`)).text(), 'pod got GET /');
    for (const id of ['web', 'web:http', 'web:80', 'http:web:80']) {
      assert.equal(await (await fetch(`${api.url}/api/v1/namespaces/default/services/${id}/proxy/`)).text(), 'pod got GET /', id);
    }
    const posted = await fetch(`${api.url}/api/v1/namespaces/default/services/web/proxy/form`, { method: 'POST', body: 'a=b' });
    assert.equal(await posted.text(), 'pod got POST /form a=b');
    const none = await fetch(`${api.url}/api/v1/namespaces/default/services/empty/proxy/`);
    assert.equal(none.status, 503);
    assert.equal((await none.json() as { message: string }).message, 'no endpoints available for service "empty"');
    assert.equal((await fetch(`${api.url}/api/v1/namespaces/default/services/nope/proxy/`)).status, 404);
  });

  test('through kubectl proxy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-proxy-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'proxy', '--port', '0'], { env: { ...process.env, HOME: dir } });
    cleanups.push(() => { child.kill(); fs.rmSync(dir, { recursive: true, force: true }); });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const local = await until('kubectl proxy listening', async () => /Starting to serve on ([\d.:]+)/.exec(out)?.[1], 30_000);
    const body = await (await fetch(`http://${local}/api/v1/namespaces/default/services/web:http/proxy/book`)).text();
    assert.equal(body, 'pod got GET /book');
  });
});
