// What objects cost a quota (Kubernetes' evaluators) and how quantities add and print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../types.ts';
import { matchesScopes, podConstraints, usageOf } from './evaluators.ts';
import { addAmounts, amountsOf, formatQuantity, prettyPrint, toList } from './resources.ts';

const pod = (containers: object[], extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd' }, spec: { containers, ...extra }, status: { phase: 'Pending' } }) as KubeObject;

test('quantities print in their canonical form and keep binary suffixes', () => {
  assert.equal(formatQuantity(1.5, false), '1500m');
  assert.equal(formatQuantity(2, false), '2');
  assert.equal(formatQuantity(1000, false), '1k');
  assert.equal(formatQuantity(256 * 2 ** 20, true), '256Mi');
  assert.equal(formatQuantity(0.1 + 0.2, false), '300m');
  assert.deepEqual(toList(addAmounts(amountsOf({ memory: '0', cpu: '100m' }), amountsOf({ memory: '128Mi', cpu: '250m' }))), { memory: '128Mi', cpu: '350m' });
  assert.equal(prettyPrint({ pods: '1', 'limits.cpu': '1' }), 'limits.cpu=1,pods=1');
});

test('a pod costs its requests (a limit standing in for a missing request) and limits; a terminal pod only count/pods', () => {
  const p = pod([{ name: 'a', resources: { requests: { cpu: '100m' }, limits: { memory: '64Mi' } } }, { name: 'b', resources: { requests: { cpu: '200m' } } }]);
  assert.deepEqual(toList(usageOf('', 'pods', p)), {
    'count/pods': '1', pods: '1', cpu: '300m', 'requests.cpu': '300m', memory: '64Mi', 'requests.memory': '64Mi', 'limits.memory': '64Mi',
  });
  const done = { ...p, status: { phase: 'Succeeded' } } as KubeObject;
  assert.deepEqual(toList(usageOf('', 'pods', done)), { 'count/pods': '1' });
  // An init container larger than the containers' sum sets the pod's request.
  const init = pod([{ name: 'a', resources: { requests: { cpu: '100m' } } }], { initContainers: [{ name: 'i', resources: { requests: { cpu: '1' } } }] });
  assert.equal(toList(usageOf('', 'pods', init))['requests.cpu'], '1');
});

test('services, claims and other kinds', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] } } as KubeObject;
  assert.deepEqual(toList(usageOf('', 'services', svc)), { 'count/services': '1', services: '1', 'services.nodeports': '2' });
  const pvc = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } } } as KubeObject;
  assert.deepEqual(toList(usageOf('', 'persistentvolumeclaims', pvc)), {
    'count/persistentvolumeclaims': '1', persistentvolumeclaims: '1', 'requests.storage': '1Gi',
    'standard.storageclass.storage.k8s.io/persistentvolumeclaims': '1', 'standard.storageclass.storage.k8s.io/requests.storage': '1Gi',
  });
  assert.deepEqual(toList(usageOf('apps', 'deployments', { metadata: { name: 'x' } } as KubeObject)), { 'count/deployments.apps': '1' });
});

test('a quota on cpu or memory makes every container say it, in Kubernetes words', () => {
  const p = pod([{ name: 'app', resources: { requests: { cpu: '100m' } } }, { name: 'side' }]);
  assert.equal(podConstraints(['pods', 'limits.cpu', 'requests.cpu'], p), 'must specify limits.cpu for: app,side; requests.cpu for: side');
  assert.equal(podConstraints(['pods', 'count/pods'], p), undefined);
});

test('scopes: Terminating, NotTerminating, BestEffort, NotBestEffort cover pods only', () => {
  const best = pod([{ name: 'a' }]);
  const burst = pod([{ name: 'a', resources: { requests: { cpu: '1' } } }], { activeDeadlineSeconds: 30 });
  assert.equal(matchesScopes(['BestEffort'], 'pods', best), true);
  assert.equal(matchesScopes(['BestEffort'], 'pods', burst), false);
  assert.equal(matchesScopes(['NotBestEffort', 'Terminating'], 'pods', burst), true);
  assert.equal(matchesScopes(['NotTerminating'], 'pods', burst), false);
  assert.equal(matchesScopes(['BestEffort'], 'services', best), false);
  assert.equal(matchesScopes(undefined, 'services', best), true);
});
