// The kubelet's log options read as Kubernetes decodes PodLogOptions: `previous=True` (as the Python
// client sends it) is true, `previous=False`/`0` false. A real kubelet HTTP server over the fake runtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../lib/logger.ts';
import { runtimeWithWebPod } from '../test/harness/fake-pod.ts';
import { createKubeletServer } from './server.ts';

test('containerLogs: previous=True asks for the previous container; previous=False and 0 for the current one', async (t) => {
  const { runtime, pod } = await runtimeWithWebPod();
  const server = createKubeletServer({ runtime, pods: () => [pod], logger: silentLogger() });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/containerLogs/default/web/c`;

  for (const v of ['True', 'true', '1', 'yes']) {
    const res = await fetch(`${base}?previous=${v}`);
    assert.equal(res.status, 400, `previous=${v}`);
    assert.equal(await res.text(), 'previous terminated container "c" in pod "web" not found');
  }
  for (const v of ['False', 'false', '0']) {
    const res = await fetch(`${base}?previous=${v}&follow=False`);
    assert.equal(res.status, 200, `previous=${v}`);
    assert.equal(await res.text(), 'c started\n');
  }
});
