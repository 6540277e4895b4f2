// Which volume a claim binds to (the PV controller and the scheduler both ask): class, access modes, selector,
// the smallest that fits, a volume pre-bound to the claim first; node affinity; the claims a pod uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBestVolume, podClaimNames, volumeMismatch, volumeNodeMatches } from './storage.ts';
import type { KubeObject } from './types.ts';

const pv = (name: string, size: string, extra: Record<string, any> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, labels: extra.labels },
  spec: { capacity: { storage: size }, accessModes: extra.modes ?? ['ReadWriteOnce'], storageClassName: extra.class ?? '', volumeMode: 'Filesystem', hostPath: { path: `/tmp/${name}` }, claimRef: extra.claimRef, nodeAffinity: extra.nodeAffinity },
  status: { phase: extra.phase ?? 'Available' },
});
const claim = (size: string, extra: Record<string, any> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default', uid: 'u1' },
  spec: { accessModes: extra.modes ?? ['ReadWriteOnce'], resources: { requests: { storage: size } }, storageClassName: extra.class, selector: extra.selector, volumeMode: 'Filesystem' },
});

test('the smallest volume that fits, of the same class, with the access modes asked for', () => {
  const vols = [pv('big', '10Gi'), pv('small', '1Gi'), pv('tiny', '100Mi'), pv('fast', '1Gi', { class: 'fast' }), pv('rox', '1Gi', { modes: ['ReadOnlyMany'] })];
  assert.equal(findBestVolume(claim('500Mi'), vols)?.metadata.name, 'small');
  assert.equal(findBestVolume(claim('2Gi'), vols)?.metadata.name, 'big');
  assert.equal(findBestVolume(claim('20Gi'), vols), undefined);
  assert.equal(findBestVolume(claim('1Gi', { class: 'fast' }), vols)?.metadata.name, 'fast');
  assert.equal(findBestVolume(claim('1Gi', { modes: ['ReadOnlyMany'] }), vols)?.metadata.name, 'rox');
  assert.equal(volumeMismatch(vols[0]!, claim('1Gi', { modes: ['ReadWriteMany'] })), 'access modes');
});

test('a selector narrows the choice; a pre-bound volume wins; a volume bound elsewhere or released is not taken', () => {
  const vols = [pv('a', '1Gi'), pv('b', '5Gi', { labels: { tier: 'gold' } })];
  assert.equal(findBestVolume(claim('1Gi', { selector: { matchLabels: { tier: 'gold' } } }), vols)?.metadata.name, 'b');
  const pre = pv('c', '50Gi', { claimRef: { namespace: 'default', name: 'data' } });
  assert.equal(findBestVolume(claim('1Gi'), [...vols, pre])?.metadata.name, 'c');
  const other = pv('d', '1Gi', { claimRef: { namespace: 'default', name: 'other', uid: 'u2' } });
  const released = pv('e', '1Gi', { phase: 'Released' });
  assert.equal(findBestVolume(claim('1Gi'), [other, released]), undefined);
});

test('node affinity and the claims of a pod', () => {
  const pinned = pv('p', '1Gi', { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] } } });
  const node = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
  assert.equal(volumeNodeMatches(pinned, node('node-1')), true);
  assert.equal(volumeNodeMatches(pinned, node('node-2')), false);
  assert.equal(findBestVolume(claim('1Gi'), [pinned], node('node-2')), undefined);
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { volumes: [{ name: 'a', persistentVolumeClaim: { claimName: 'data' } }, { name: 'scratch', ephemeral: { volumeClaimTemplate: {} } }, { name: 'e', emptyDir: {} }] } };
  assert.deepEqual(podClaimNames(pod), ['data', 'web-scratch']);
});
