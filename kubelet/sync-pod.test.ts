import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalRegistry } from './sync-pod.ts';
import { podPhase } from './pod-status.ts';

test('only registries on this machine count as local', () => {
  for (const img of ['localhost:5000/app:1', 'localhost/app', '127.0.0.1:5000/x/y:2', '127.0.1.5/app']) assert.equal(isLocalRegistry(img), true, img);
  for (const img of ['nginx', 'nginx:1.27', 'kubemu/hello:1', 'docker.io/library/nginx', 'registry.example.com/app:1', 'ghcr.io/a/b', '10.0.0.1:5000/app']) assert.equal(isLocalRegistry(img), false, img);
});

test('pod phase follows Kubernetes getPhase', () => {
  const pod = (restartPolicy: string) => ({ metadata: {}, spec: { restartPolicy } });
  const running = { state: { running: {} } };
  const waitingFresh = { state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} };
  const crashLoop = { state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } };
  const done0 = { state: { terminated: { exitCode: 0 } } };
  const done1 = { state: { terminated: { exitCode: 1 } } };
  assert.equal(podPhase(pod('Always'), [waitingFresh]), 'Pending');
  assert.equal(podPhase(pod('Always'), [running, waitingFresh]), 'Pending');
  assert.equal(podPhase(pod('Always'), [running]), 'Running');
  assert.equal(podPhase(pod('Always'), [crashLoop]), 'Running');
  assert.equal(podPhase(pod('Never'), [done0]), 'Succeeded');
  assert.equal(podPhase(pod('Never'), [done0, done1]), 'Failed');
  assert.equal(podPhase(pod('OnFailure'), [done1]), 'Running');
  assert.equal(podPhase(pod('OnFailure'), [done0]), 'Succeeded');
});
