// Hollow nodes answer probes and port-forward from annotations, without dialling anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedDial, simulatedProbe } from './fake-network.ts';

const pod = (annotations: Record<string, string> = {}) => ({ metadata: { name: 'web', namespace: 'default', annotations } });

test('simulated probes: success by default, failure per kind or per container', () => {
  assert.deepEqual(simulatedProbe(pod(), 'c', 'readiness'), { ok: true, message: '' });
  assert.equal(simulatedProbe(pod({ 'kubemu.io/fake-probe-readiness': 'failure' }), 'c', 'readiness').ok, false);
  assert.equal(simulatedProbe(pod({ 'kubemu.io/fake-probe-readiness': 'failure' }), 'c', 'liveness').ok, true);
  const perContainer = pod({ 'kubemu.io/fake-probe-liveness': 'failure', 'kubemu.io/fake-probe-liveness.side': 'success' });
  assert.equal(simulatedProbe(perContainer, 'main', 'liveness').ok, false);
  assert.equal(simulatedProbe(perContainer, 'side', 'liveness').ok, true);
});

test('simulated port-forward: an HTTP answer naming the pod, or connection refused', async () => {
  const conn = simulatedDial(pod(), 8080);
  const chunks: Buffer[] = [];
  conn.on('data', (c) => chunks.push(Buffer.from(c)));
  const ended = new Promise((r) => conn.on('end', r));
  conn.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await ended;
  assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1.1 200 OK[\s\S]*kubemu fake pod default\/web port 8080/);
  assert.throws(() => simulatedDial(pod({ 'kubemu.io/fake-port-forward': 'refuse' }), 80), /ECONNREFUSED/);
});
