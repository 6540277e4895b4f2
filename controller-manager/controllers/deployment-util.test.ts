import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rsAnnotations, sameTemplate, scaledValue, surgeAndUnavailable } from './deployment-util.ts';

test('maxSurge rounds up, maxUnavailable down; both 0 reads as unavailable 1; Recreate', () => {
  assert.equal(scaledValue('25%', 5, true, 0), 2);
  assert.equal(scaledValue('25%', 5, false, 0), 1);
  assert.equal(scaledValue(3, 5, false, 0), 3);
  const d = (ru: object, type = 'RollingUpdate') => ({ metadata: {}, spec: { replicas: 10, strategy: { type, rollingUpdate: ru } } });
  assert.deepEqual(surgeAndUnavailable(d({})), [3, 2]);
  assert.deepEqual(surgeAndUnavailable(d({ maxSurge: 0, maxUnavailable: 0 })), [0, 1]);
  assert.deepEqual(surgeAndUnavailable(d({}, 'Recreate')), [0, 10]);
});

test('templates compare without the hash label and without the nulls kubectl sends (rollout undo)', () => {
  const rs = { metadata: { labels: { app: 'a', 'pod-template-hash': 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const fromUndo = { metadata: { creationTimestamp: null, labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  assert.ok(sameTemplate(rs as never, fromUndo as never));
  assert.ok(!sameTemplate(rs as never, { ...fromUndo, spec: { containers: [{ name: 'c', image: 'j' }] } } as never));
});

test('a rolled-back ReplicaSet takes the new revision and remembers its old one', () => {
  const d = { metadata: { annotations: { 'kubernetes.io/change-cause': 'undo', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { replicas: 4 } };
  const rs = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '1' } } };
  const a = rsAnnotations(d as never, rs as never, 3);
  assert.equal(a['deployment.kubernetes.io/revision'], '3');
  assert.equal(a['deployment.kubernetes.io/revision-history'], '1');
  assert.equal(a['kubernetes.io/change-cause'], 'undo');
  assert.equal(a['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  assert.equal(a['deployment.kubernetes.io/max-replicas'], '5');
});
