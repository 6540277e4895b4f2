import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalRegistry, newMemory, pendingStatus } from './sync-pod.ts';
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

test('a pod whose first sync failed is reported Pending, each container ContainerCreating or why it waits', () => {
  const pod = { metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { initContainers: [{ name: 'init', image: 'kubemu/busybox:1' }],
    containers: [{ name: 'a', image: 'kubemu/hello:1' }, { name: 'b', image: 'nowhere/x:1' }] } };
  const mem = newMemory();
  mem.waiting.set('b', { reason: 'ErrImagePull', message: 'not here' });
  const st = pendingStatus(pod, mem, '10.0.0.5');
  assert.equal(st.phase, 'Pending');
  assert.equal(st.hostIP, '10.0.0.5');
  assert.deepEqual(st.containerStatuses.map((c: { state: unknown }) => c.state), [{ waiting: { reason: 'ContainerCreating' } }, { waiting: { reason: 'ErrImagePull', message: 'not here' } }]);
  assert.deepEqual(st.initContainerStatuses.map((c: { name: string; ready: boolean }) => [c.name, c.ready]), [['init', false]]);
  const cond = Object.fromEntries(st.conditions.map((c: { type: string; status: string }) => [c.type, c.status]));
  assert.deepEqual(cond, { PodReadyToStartContainers: 'False', Initialized: 'False', Ready: 'False', ContainersReady: 'False', PodScheduled: 'True' });
});
