import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podDNSConfig } from './dns-config.ts';

const cluster = { servers: ['10.96.0.10'], domain: 'cluster.local' };
const pod = (spec: Record<string, unknown> = {}) => ({ metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [], ...spec } });

test('ClusterFirst (the default): the cluster DNS, the namespace search path and ndots:5', () => {
  assert.deepEqual(podDNSConfig(pod(), cluster), {
    servers: ['10.96.0.10'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'],
  });
});

test('Default, and ClusterFirst with no cluster DNS configured: the runtime default resolver', () => {
  assert.equal(podDNSConfig(pod({ dnsPolicy: 'Default' }), cluster), undefined);
  assert.equal(podDNSConfig(pod(), undefined), undefined);
});

test('None takes only spec.dnsConfig; dnsConfig adds to ClusterFirst and its options win by name', () => {
  assert.deepEqual(podDNSConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.53'], searches: ['x.local'], options: [{ name: 'edns0' }] } }), cluster),
    { servers: ['10.96.0.53'], searches: ['x.local'], options: ['edns0'] });
  const merged = podDNSConfig(pod({ dnsConfig: { searches: ['extra.local'], options: [{ name: 'ndots', value: '2' }] } }), cluster)!;
  assert.deepEqual(merged.searches, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'extra.local']);
  assert.deepEqual(merged.options, ['ndots:2']);
});

test('on the node\'s network ClusterFirst is Default; ClusterFirstWithHostNet keeps the cluster DNS', () => {
  assert.equal(podDNSConfig(pod({ hostNetwork: true }), cluster), undefined);
  assert.deepEqual(podDNSConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster)?.servers, ['10.96.0.10']);
});
