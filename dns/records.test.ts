// Which records the cluster DNS gives, from Services and Endpoints held in plain maps
// (the informer cache's read side). The real-apiserver path is in dns.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.ts';
import { createLookup, type Lister } from './records.ts';
import { RCode, RRClass, RRType, type Question } from './wire.ts';

const lister = (objs: KubeObject[]): Lister => ({
  get: (name, ns) => objs.find((o) => o.metadata.name === name && o.metadata.namespace === ns),
  list: (ns) => objs.filter((o) => ns === undefined || o.metadata.namespace === ns),
});
const svc = (name: string, spec: Record<string, unknown>, ns = 'default'): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec });
const eps = (name: string, subsets: unknown[], ns = 'default'): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns }, subsets });

const services = [
  svc('web', { type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 9 }] }),
  svc('db', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
  svc('ext', { type: 'ExternalName', externalName: 'example.com.' }),
];
const endpoints = [
  eps('db', [{
    addresses: [{ ip: '10.244.0.5', hostname: 'db-0' }, { ip: '10.244.0.6' }],
    notReadyAddresses: [{ ip: '10.244.0.7', hostname: 'db-2' }],
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  }, { addresses: [{ ip: 'not-an-ip' }] }, null]),
];
const lookup = createLookup({ domain: 'cluster.local.', services: lister(services), endpoints: lister(endpoints) });
const q = (name: string, type: number = RRType.A): Question => ({ name, type, class: RRClass.IN });
const data = (name: string, type?: number) => (lookup(q(name, type)).answers ?? []).map((r) => r.data);

describe('cluster records', () => {
  test('a ClusterIP service has an A record with TTL 5, whatever the case and trailing dot', () => {
    const a = lookup(q('WEB.Default.svc.cluster.local.'));
    assert.equal(a.rcode, RCode.NOERROR);
    assert.equal(a.authoritative, true);
    assert.deepEqual(a.answers, [{ name: 'WEB.Default.svc.cluster.local.', type: RRType.A, class: RRClass.IN, ttl: 5, data: { kind: 'A', address: '10.96.0.20' } }]);
  });

  test('a headless service has one A record per ready address, and one per endpoint name', () => {
    assert.deepEqual(data('db.default.svc.cluster.local'), [{ kind: 'A', address: '10.244.0.5' }, { kind: 'A', address: '10.244.0.6' }]);
    assert.deepEqual(data('db-0.db.default.svc.cluster.local'), [{ kind: 'A', address: '10.244.0.5' }]);
    assert.deepEqual(data('10-244-0-6.db.default.svc.cluster.local'), [{ kind: 'A', address: '10.244.0.6' }]);
    assert.equal(lookup(q('db-2.db.default.svc.cluster.local')).rcode, RCode.NXDOMAIN); // not ready
    assert.equal(lookup(q('x.web.default.svc.cluster.local')).rcode, RCode.NXDOMAIN); // not headless
  });

  test('SRV: ClusterIP target is the service, headless one per endpoint, A records as additionals', () => {
    const web = lookup(q('_http._tcp.web.default.svc.cluster.local', RRType.SRV));
    assert.deepEqual(web.answers?.map((r) => r.data), [{ kind: 'SRV', priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
    assert.deepEqual(web.additionals?.map((r) => [r.name, r.data]), [['web.default.svc.cluster.local', { kind: 'A', address: '10.96.0.20' }]]);
    assert.deepEqual(data('_dns._udp.web.default.svc.cluster.local', RRType.SRV).map((d) => d.kind === 'SRV' && d.port), [53]);
    const db = lookup(q('_pg._tcp.db.default.svc.cluster.local', RRType.SRV));
    assert.deepEqual(db.answers?.map((r) => r.data.kind === 'SRV' && `${r.data.port} ${r.data.target}`),
      ['5432 db-0.db.default.svc.cluster.local', '5432 10-244-0-6.db.default.svc.cluster.local']);
    assert.deepEqual(db.additionals?.map((r) => r.data.kind === 'A' && `${r.name} ${r.data.address}`),
      ['db-0.db.default.svc.cluster.local 10.244.0.5', '10-244-0-6.db.default.svc.cluster.local 10.244.0.6']);
    // The plain service name answers SRV for every port, named or not, weights splitting 100 (as CoreDNS).
    assert.deepEqual(data('web.default.svc.cluster.local', RRType.SRV).map((d) => d.kind === 'SRV' && `${d.port}/${d.weight}`), ['80/33', '53/33', '9/33']);
    assert.deepEqual(db.answers?.map((r) => r.data.kind === 'SRV' && r.data.weight), [50, 50]);
    assert.equal(lookup(q('_http._udp.web.default.svc.cluster.local', RRType.SRV)).rcode, RCode.NXDOMAIN);
    assert.equal(lookup(q('_nope._tcp.web.default.svc.cluster.local', RRType.SRV)).rcode, RCode.NXDOMAIN);
  });

  test('ExternalName is a CNAME for any type, not followed', () => {
    for (const type of [RRType.A, RRType.CNAME, RRType.SRV]) {
      const a = lookup(q('ext.default.svc.cluster.local', type));
      assert.deepEqual(a.answers?.map((r) => [r.type, r.data]), [[RRType.CNAME, { kind: 'name', target: 'example.com' }]]);
    }
  });

  test('pod names: a-b-c-d.<ns>.pod', () => {
    assert.deepEqual(data('10-244-1-7.anything.pod.cluster.local'), [{ kind: 'A', address: '10.244.1.7' }]);
    assert.equal(lookup(q('10-244-1-700.default.pod.cluster.local')).rcode, RCode.NXDOMAIN);
    assert.equal(lookup(q('web.default.pod.cluster.local')).rcode, RCode.NXDOMAIN);
  });

  test('NXDOMAIN for missing names, NODATA (with SOA) for names with other types, forward outside', () => {
    for (const name of ['nope.default.svc.cluster.local', 'web.nope.svc.cluster.local', 'nope.svc.cluster.local', 'x.y.cluster.local', 'a.b.c.web.default.svc.cluster.local']) {
      const a = lookup(q(name));
      assert.equal(a.rcode, RCode.NXDOMAIN, name);
      assert.equal(a.authorities?.[0].type, RRType.SOA);
    }
    for (const [name, type] of [['web.default.svc.cluster.local', RRType.AAAA], ['default.svc.cluster.local', RRType.A], ['svc.cluster.local', RRType.A],
      ['cluster.local', RRType.A], ['_tcp.web.default.svc.cluster.local', RRType.A]] as const) {
      const a = lookup(q(name, type));
      assert.equal(a.rcode, RCode.NOERROR, name);
      assert.deepEqual(a.answers ?? [], [], name);
      assert.equal(a.authorities?.[0].type, RRType.SOA, name);
    }
    assert.equal(data('cluster.local', RRType.SOA)[0].kind, 'SOA');
    // Outside the domain: not ours, for the forwarder (REFUSED if nobody forwards).
    for (const name of ['example.com', 'cluster.local.evil.com', 'xcluster.local']) assert.deepEqual(lookup(q(name)), { rcode: RCode.REFUSED, forward: true }, name);
  });

  test('PTR for ClusterIPs and headless endpoints; unknown addresses are forwarded', () => {
    assert.deepEqual(data('20.0.96.10.in-addr.arpa', RRType.PTR), [{ kind: 'name', target: 'web.default.svc.cluster.local' }]);
    assert.deepEqual(data('5.0.244.10.in-addr.arpa', RRType.PTR), [{ kind: 'name', target: 'db-0.db.default.svc.cluster.local' }]);
    assert.deepEqual(lookup(q('9.9.9.9.in-addr.arpa', RRType.PTR)), { rcode: RCode.REFUSED, forward: true });
  });

  test('ANY gives every type at the name', () => {
    assert.deepEqual(data('web.default.svc.cluster.local', RRType.ANY).map((d) => d.kind), ['A', 'SRV', 'SRV', 'SRV']);
  });
});
