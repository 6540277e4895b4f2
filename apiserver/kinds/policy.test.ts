// The policy kinds' rules without a server: PodDisruptionBudget, ResourceQuota and LimitRange validation with
// Kubernetes' messages, LimitRange defaults, and the cells kube-apiserver's printers give `kubectl get`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { limitranges } from './limitranges.ts';
import { poddisruptionbudgets as pdbs } from './poddisruptionbudgets.ts';
import { resourcequotas } from './resourcequotas.ts';

const obj = (kind: string, spec: unknown, status?: unknown): KubeObject =>
  ({ apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'd', creationTimestamp: '2026-01-01T00:00:00Z' }, spec, ...(status ? { status } : {}) }) as KubeObject;
const messages = (errs: Array<{ field: string; detail: string }>) => errs.map((e) => `${e.field}: ${e.detail}`);

test('PodDisruptionBudget: int or percent, not both, a known policy; N/A columns', () => {
  assert.deepEqual(pdbs.validate!(obj('PodDisruptionBudget', { maxUnavailable: '10%', selector: {} })), []);
  assert.deepEqual(messages(pdbs.validate!(obj('PodDisruptionBudget', { minAvailable: -1 }))), ['spec.minAvailable: Invalid value: -1: must be greater than or equal to 0']);
  assert.deepEqual(pdbs.printer!.cells(obj('PodDisruptionBudget', { maxUnavailable: '10%' }, { disruptionsAllowed: 3 })).slice(0, 3), ['N/A', '10%', 3]);
  assert.deepEqual(messages(pdbs.validateStatus!(obj('PodDisruptionBudget', {}, { expectedPods: -2 }), obj('PodDisruptionBudget', {}))),
    ['status.expectedPods: Invalid value: -2: must be greater than or equal to 0']);
});

test('ResourceQuota: quantities, scopes; Request and Limit columns sorted, limits.* apart', () => {
  assert.deepEqual(messages(resourcequotas.validate!(obj('ResourceQuota', { hard: { pods: '-1', cpu: 'lots' }, scopes: ['Forever'] }))), [
    'spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0',
    "spec.hard[cpu]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    'spec.scopes[0]: Unsupported value: "Forever": supported values: "Terminating", "NotTerminating", "BestEffort", "NotBestEffort"',
  ]);
  const q = obj('ResourceQuota', {}, { hard: { pods: '2', 'limits.cpu': '2', 'requests.cpu': '1' }, used: { pods: '1', 'limits.cpu': '500m', 'requests.cpu': '0' } });
  assert.deepEqual(resourcequotas.printer!.cells(q).slice(1), ['pods: 1/2, requests.cpu: 0/1', 'limits.cpu: 500m/2']);
});

test('LimitRange: a max is the default limit, a default limit the default request; ordering checked; Pod items take no defaults', () => {
  const lr = obj('LimitRange', { limits: [{ type: 'Container', max: { cpu: '1' }, min: { memory: '16Mi' } }] });
  limitranges.defaults!(lr);
  assert.deepEqual(lr.spec.limits[0].default, { cpu: '1' });
  assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '1', memory: '16Mi' });
  assert.deepEqual(limitranges.validate!(lr), []);
  const bad = obj('LimitRange', { limits: [{ type: 'Pod', default: { cpu: '1' }, max: { cpu: '1' }, maxLimitRequestRatio: { cpu: '0.5' } }, { type: 'PersistentVolumeClaim' }] });
  limitranges.defaults!(bad);
  assert.deepEqual(messages(limitranges.validate!(bad)), [
    "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
    'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "0.5": ratio 0.5 is less than 1',
    'spec.limits[1].limits: Required value: either minimum or maximum storage value is required, but neither was provided',
  ]);
  assert.deepEqual(limitranges.printer!.cells(lr), ['2026-01-01T00:00:00Z']);
});
