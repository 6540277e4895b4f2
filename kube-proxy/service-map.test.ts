import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.ts';
import { buildRules, type BuildOptions } from './service-map.ts';

const opts: BuildOptions = { nodeIP: '127.0.1.1', serveClusterIPs: true, loadBalancerIPs: true };

const svc = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec, ...(status && { status }) });

const ep = (name: string, subsets: unknown[]): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets });

describe('buildRules', () => {
  test('ClusterIP service: one rule per port, ready backends matched by port name, sorted', () => {
    const s = svc('web', { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ] });
    const e = ep('web', [
      { addresses: [{ ip: '10.0.0.10' }, { ip: '10.0.0.9' }], notReadyAddresses: [{ ip: '10.0.0.3' }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.2' }], ports: [{ name: 'http', port: 8081, protocol: 'TCP' }] },
    ]);
    assert.deepEqual(buildRules([s], [e], opts), [
      {
        key: 'default/web:http/TCP', service: 'default/web', portName: 'http', protocol: 'TCP',
        frontends: [{ ip: '10.96.0.10', port: 80, kind: 'ClusterIP' }],
        backends: [{ ip: '10.0.0.2', port: 8081 }, { ip: '10.0.0.9', port: 8080 }, { ip: '10.0.0.10', port: 8080 }],
      },
      {
        key: 'default/web:metrics/TCP', service: 'default/web', portName: 'metrics', protocol: 'TCP',
        frontends: [{ ip: '10.96.0.10', port: 9090, kind: 'ClusterIP' }],
        backends: [{ ip: '10.0.0.9', port: 9100 }, { ip: '10.0.0.10', port: 9100 }],
      },
    ]);
  });

  test('unnamed port keys by number; no Endpoints object gives a rule without backends', () => {
    const rules = buildRules([svc('dns', { clusterIP: '10.96.0.53', ports: [{ port: 53, protocol: 'UDP' }] })], [], opts);
    assert.deepEqual(rules, [{
      key: 'default/dns:53/UDP', service: 'default/dns', portName: '', protocol: 'UDP',
      frontends: [{ ip: '10.96.0.53', port: 53, kind: 'ClusterIP' }], backends: [],
    }]);
  });

  test('protocol must match too: a UDP endpoint port does not serve a TCP service port', () => {
    const s = svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] });
    const e = ep('dns', [{ addresses: [{ ip: '10.0.0.5' }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5353, protocol: 'TCP' }] }]);
    const rules = buildRules([s], [e], opts);
    assert.deepEqual(rules.map((r) => [r.key, r.backends]), [
      ['default/dns:dns/UDP', [{ ip: '10.0.0.5', port: 5353 }]],
      ['default/dns:dns-tcp/TCP', [{ ip: '10.0.0.5', port: 5353 }]],
    ]);
  });

  test('NodePort and LoadBalancer frontends', () => {
    const np = svc('np', { type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
    const lb = svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 80, nodePort: 30081 }] },
      { loadBalancer: { ingress: [{ ip: '127.0.2.1' }, { hostname: 'lb.example' }] } });
    const rules = buildRules([np, lb], [], opts);
    assert.deepEqual(rules.map((r) => r.frontends), [
      [{ ip: '10.96.0.11', port: 80, kind: 'ClusterIP' }, { ip: '127.0.1.1', port: 30080, kind: 'NodePort' }],
      [{ ip: '10.96.0.12', port: 80, kind: 'ClusterIP' }, { ip: '127.0.1.1', port: 30081, kind: 'NodePort' }, { ip: '127.0.2.1', port: 80, kind: 'LoadBalancer' }],
    ]);
    // A node-only proxier: no ClusterIPs, no LB addresses; a ClusterIP-only service then has no rule.
    const nodeOnly = buildRules([np, lb, svc('c', { clusterIP: '10.96.0.13', ports: [{ port: 80 }] })], [], { ...opts, serveClusterIPs: false, loadBalancerIPs: false });
    assert.deepEqual(nodeOnly.map((r) => [r.key, r.frontends]), [
      ['default/np:http/TCP', [{ ip: '127.0.1.1', port: 30080, kind: 'NodePort' }]],
      ['default/lb:http/TCP', [{ ip: '127.0.1.1', port: 30081, kind: 'NodePort' }]],
    ]);
  });

  test('skips ExternalName, headless and SCTP', () => {
    const rules = buildRules([
      svc('ext', { type: 'ExternalName', externalName: 'example.com' }),
      svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      svc('sctp', { clusterIP: '10.96.0.14', ports: [{ name: 's', port: 99, protocol: 'SCTP' }, { name: 't', port: 100 }] }),
    ], [ep('headless', [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }])], opts);
    assert.deepEqual(rules.map((r) => r.key), ['default/sctp:t/TCP']);
  });

  test('selector-less service uses its hand-written Endpoints', () => {
    const s = svc('ext-db', { clusterIP: '10.96.0.15', ports: [{ port: 5432 }] });
    const e = ep('ext-db', [{ addresses: [{ ip: '127.0.0.5' }], ports: [{ port: 15432 }] }]);
    assert.deepEqual(buildRules([s], [e], opts)[0].backends, [{ ip: '127.0.0.5', port: 15432 }]);
  });

  test('ClientIP affinity, with the default timeout', () => {
    const rules = buildRules([
      svc('a', { clusterIP: '10.96.0.16', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
      svc('b', { clusterIP: '10.96.0.17', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] }),
      svc('c', { clusterIP: '10.96.0.18', sessionAffinity: 'None', ports: [{ port: 80 }] }),
    ], [], opts);
    assert.deepEqual(rules.map((r) => r.affinity), [{ timeoutSeconds: 10800 }, { timeoutSeconds: 60 }, undefined]);
  });
});
