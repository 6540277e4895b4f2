// The LoadBalancer address controller against a real apiserver over real etcd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { R } from '../informers.ts';
import { until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { newServiceLoadBalancerController, parsePool } from './service-lb.ts';

const ns = 'default';
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false | ''>, ms?: number): Promise<T> => poll(what, fn, ms) as Promise<T>;
const svc = (name: string, type: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name },
  spec: { type, selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...extra },
});

test('pools: a range or a CIDR without its network and broadcast addresses; bad pools say why', () => {
  assert.deepEqual(parsePool('127.0.9.200-127.0.9.202'), ['127.0.9.200', '127.0.9.201', '127.0.9.202']);
  assert.deepEqual(parsePool('10.1.2.0/30'), ['10.1.2.1', '10.1.2.2']);
  assert.throws(() => parsePool('127.0.9.5-127.0.9.1'), /empty/);
  assert.throws(() => parsePool('lots'), /want FIRST-LAST/);
  assert.throws(() => parsePool('10.0.0.0/8'), /want FIRST-LAST/);
});

describe('Service LoadBalancer controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;
  const ingress = async (name: string): Promise<string | undefined> => (await c.get(R.services, ns, name)).status?.loadBalancer?.ingress?.[0]?.ip;

  before(async () => {
    bed = await controllerTestbed(newServiceLoadBalancerController, { loadBalancerPool: '127.0.9.200-127.0.9.201' });
    c = bed.client;
  });
  after(() => bed.stop());

  test('each LoadBalancer gets its own address; the pool runs out; a freed address goes to the one waiting; ClusterIP services get none', async () => {
    await c.create(R.services, ns, svc('plain', 'ClusterIP'));
    await c.create(R.services, ns, svc('a', 'LoadBalancer'));
    assert.equal(await until('a has an address', () => ingress('a')), '127.0.9.200');
    await c.create(R.services, ns, svc('b', 'LoadBalancer', { loadBalancerIP: '127.0.9.201' }));
    assert.equal(await until('b has the address it asked for', () => ingress('b')), '127.0.9.201');
    await c.create(R.services, ns, svc('c', 'LoadBalancer'));
    const failed = await until('an AllocationFailed event for c', async () =>
      (await c.list({ group: '', resource: 'events' }, ns)).items.find((e: any) => e.involvedObject?.name === 'c' && e.reason === 'AllocationFailed'));
    assert.match((failed as any).message, /no free address/);
    assert.equal(await ingress('c'), undefined);
    assert.equal(await ingress('plain'), undefined);
    await c.delete(R.services, ns, 'a');
    assert.equal(await until('c gets the freed address', () => ingress('c')), '127.0.9.200');
    // Back to ClusterIP: the address is released, and b's goes nowhere else.
    await c.patch(R.services, ns, 'b', { spec: { type: 'ClusterIP' } });
    await until('b released its address', async () => (await ingress('b')) === undefined);
    assert.equal(await ingress('c'), '127.0.9.200');
  });
});
