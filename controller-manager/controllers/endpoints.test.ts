// The Endpoints controller against a real apiserver. No kubelet: the test writes pod IPs and
// Ready conditions itself through the status subresource.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { R } from '../informers.ts';
import { until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { computeSubsets, LAST_CHANGE_TRIGGER_TIME, newEndpointsController } from './endpoints.ts';

const ns = 'default';
/** Poll until `fn` gives something truthy, and return it (30 s by default: the controller may be slow under load). */
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false | ''>, ms = 30_000): Promise<T> => poll(what, fn, ms) as Promise<T>;

const pod = (name: string, app: string, portName = 'http', containerPort = 8080): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app } },
  spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: portName, containerPort }] }] },
});

describe('Endpoints controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;

  const setStatus = (name: string, ip: string, ready: boolean) => c.patch(R.pods, ns, name, {
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }] },
  }, { subresource: 'status' });
  // Endpoints' subsets are untyped in KubeObject.
  const getEp = (name: string): Promise<any> => c.get(R.endpoints, ns, name).catch(() => undefined);

  before(async () => {
    bed = await controllerTestbed(newEndpointsController);
    c = bed.client;
  });
  after(() => bed.stop());

  test('named targetPort resolved per pod; readiness moves addresses; deletes follow', async () => {
    await c.create(R.services, ns, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    await c.create(R.pods, ns, pod('web-a', 'web'));
    await c.create(R.pods, ns, pod('web-b', 'web'));
    await c.create(R.pods, ns, pod('other', 'other'));
    await setStatus('web-a', '10.0.0.1', true);
    await setStatus('web-b', '10.0.0.2', true);
    await setStatus('other', '10.0.0.9', true);

    const ep = await until('2 ready addresses', async () => {
      const e = await getEp('web');
      return e?.subsets?.[0]?.addresses?.length === 2 && e;
    });
    assert.equal(ep.subsets.length, 1);
    assert.deepEqual(ep.subsets[0].ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(ep.subsets[0].addresses.map((a: { ip: string }) => a.ip), ['10.0.0.1', '10.0.0.2']);
    assert.equal(ep.subsets[0].notReadyAddresses, undefined);
    const a = ep.subsets[0].addresses[0];
    assert.deepEqual(a.targetRef, { kind: 'Pod', namespace: ns, name: 'web-a', uid: (await c.get(R.pods, ns, 'web-a')).metadata.uid });
    assert.equal(ep.metadata.labels.tier, 'front');
    assert.ok(ep.metadata.annotations[LAST_CHANGE_TRIGGER_TIME]);

    await setStatus('web-b', '10.0.0.2', false);
    const moved = await until('web-b not ready', async () => {
      const e = await getEp('web');
      return e?.subsets?.[0]?.notReadyAddresses?.length === 1 && e;
    });
    assert.deepEqual(moved.subsets[0].addresses.map((x: { ip: string }) => x.ip), ['10.0.0.1']);
    assert.equal(moved.subsets[0].notReadyAddresses[0].targetRef.name, 'web-b');

    // Unchanged inputs write nothing: the resourceVersion stays.
    await c.patch(R.services, ns, 'web', { metadata: { annotations: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await getEp('web'))!.metadata.resourceVersion, moved.metadata.resourceVersion);

    await c.delete(R.pods, ns, 'web-b', { gracePeriodSeconds: 0 });
    const gone = await until('web-b gone', async () => {
      const e = await getEp('web');
      return e && !e.subsets?.[0]?.notReadyAddresses && e;
    });
    assert.deepEqual(gone.subsets[0].addresses.map((x: { targetRef: { name: string } }) => x.targetRef.name), ['web-a']);

    await c.delete(R.services, ns, 'web');
    await until('endpoints deleted with the service', async () => !(await getEp('web')));
  });

  test('a selectorless service keeps the Endpoints its user writes', async () => {
    await c.create(R.services, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { ports: [{ port: 5432 }] } });
    const mine = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext' }, subsets: [{ addresses: [{ ip: '192.0.2.7' }], ports: [{ port: 5432, protocol: 'TCP' }] }] };
    const made = await c.create(R.endpoints, ns, mine);
    await new Promise((r) => setTimeout(r, 300));
    const now = await getEp('ext');
    assert.equal(now!.metadata.resourceVersion, made.metadata.resourceVersion);
    assert.equal(now!.subsets[0].addresses[0].ip, '192.0.2.7');
  });

  test('Endpoints written before their selector-less Service are kept (the book\'s chapter 5 order)', async () => {
    const mine = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external-service' }, subsets: [{ addresses: [{ ip: '192.0.2.8' }], ports: [{ port: 80, protocol: 'TCP' }] }] };
    const made = await c.create(R.endpoints, ns, mine);
    // The controller has seen it (an unrelated write after it is processed), and the Endpoints are still there.
    await c.create(R.services, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'other-sel' }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } });
    await until('the other Service\'s Endpoints', () => getEp('other-sel'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await getEp('external-service'))?.metadata.resourceVersion, made.metadata.resourceVersion);
    await c.create(R.services, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external-service' }, spec: { ports: [{ port: 80 }] } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await getEp('external-service'))?.subsets[0].addresses[0].ip, '192.0.2.8');
    // Deleting a selector-less Service leaves the user's Endpoints alone; deleting one with a selector removes ours.
    await c.delete(R.services, ns, 'external-service');
    await c.delete(R.services, ns, 'other-sel');
    await until('the selector Service\'s Endpoints gone', async () => !(await getEp('other-sel')));
    assert.ok(await getEp('external-service'));
  });

  test('computeSubsets: pods without the named port are left out; publishNotReadyAddresses lists everyone as ready', () => {
    const mk = (name: string, ip: string, ready: boolean, portName: string): KubeObject => ({
      ...pod(name, 'x', portName), metadata: { name, namespace: ns, uid: name },
      status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'x' }, ports: [{ name: 'a', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'b', port: 81, targetPort: 9090, protocol: 'TCP' }] } };
    const pods = [mk('p1', '10.0.0.1', true, 'http'), mk('p2', '10.0.0.2', false, 'grpc'), { ...mk('p3', '10.0.0.3', true, 'http'), status: { phase: 'Succeeded', podIP: '10.0.0.3' } }];
    const subsets = computeSubsets(svc, pods);
    // p1 serves both ports, p2 only the numeric one: two subsets; p3 has finished.
    assert.equal(subsets.length, 2);
    assert.deepEqual(subsets[0].ports.map((p: { port: number }) => p.port), [8080, 9090]);
    assert.deepEqual(subsets[0].addresses.map((x: { ip: string }) => x.ip), ['10.0.0.1']);
    assert.deepEqual(subsets[1].ports.map((p: { port: number }) => p.port), [9090]);
    assert.deepEqual(subsets[1].notReadyAddresses.map((x: { ip: string }) => x.ip), ['10.0.0.2']);
    const published = computeSubsets({ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, pods);
    assert.deepEqual(published[1].addresses.map((x: { ip: string }) => x.ip), ['10.0.0.2']);
  });

  test('computeSubsets: a pod whose subdomain is the service carries its hostname (its DNS name); others do not', () => {
    const mk = (name: string, ip: string, spec: Record<string, unknown>): KubeObject => ({
      ...pod(name, 'x'), metadata: { name, namespace: ns, uid: name }, spec: { ...pod(name, 'x').spec, ...spec },
      status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'grp', namespace: ns }, spec: { clusterIP: 'None', selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
    const pods = [mk('a', '10.0.0.1', { hostname: 'web-a', subdomain: 'grp' }), mk('b', '10.0.0.2', { hostname: 'web-b', subdomain: 'other' }), mk('c', '10.0.0.3', { subdomain: 'grp' })];
    const [subset] = computeSubsets(svc, pods);
    assert.deepEqual(subset.addresses.map((x: { ip: string; hostname?: string }) => [x.ip, x.hostname]), [['10.0.0.1', 'web-a'], ['10.0.0.2', undefined], ['10.0.0.3', undefined]]);
  });
});
