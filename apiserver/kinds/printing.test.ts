import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeStatus, podStatus } from './printing.ts';

test('node STATUS as kubectl prints it: Ready True → Ready; False or Unknown → NotReady; no condition → Unknown', () => {
  const node = (status?: string, unschedulable = false) => ({
    spec: { unschedulable }, status: { conditions: status ? [{ type: 'Ready', status }] : [] },
  });
  assert.equal(nodeStatus(node('True')), 'Ready');
  assert.equal(nodeStatus(node('False')), 'NotReady');
  assert.equal(nodeStatus(node('Unknown')), 'NotReady', 'a node whose kubelet stopped heartbeating');
  assert.equal(nodeStatus(node()), 'Unknown');
  assert.equal(nodeStatus(node('True', true)), 'Ready,SchedulingDisabled');
});

test('pod STATUS: a terminating pod reads Terminating', () => {
  const p = podStatus({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, spec: { containers: [{ name: 'a' }] }, status: { phase: 'Running' } });
  assert.equal(p.status, 'Terminating');
  assert.equal(p.ready, '0/1');
});

test('pod STATUS: a gated pod reads SchedulingGated, and Pending once the gates are gone', () => {
  const gated = { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' };
  assert.equal(podStatus({ metadata: {}, spec: { containers: [{ name: 'a' }] }, status: { phase: 'Pending', conditions: [gated] } }).status, 'SchedulingGated');
  const unschedulable = { ...gated, reason: 'Unschedulable' };
  assert.equal(podStatus({ metadata: {}, spec: { containers: [{ name: 'a' }] }, status: { phase: 'Pending', conditions: [unschedulable] } }).status, 'Pending');
});
