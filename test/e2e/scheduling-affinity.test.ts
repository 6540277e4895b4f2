// Inter-pod anti-affinity, topology spread and scheduling gates on a `kubemu up` cluster of three
// hollow nodes (zones a, a, b), driven by the real kubectl with examples/scheduling-affinity.yaml.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const NS = 'scheduling';

describe('scheduling: affinity, spread, gates (hollow nodes, real kubectl)', () => {
  let c: KubemuCluster;
  let nodes: string[];
  const pods = async (app?: string): Promise<any[]> =>
    JSON.parse(await c.kubectl('get', 'pods', '-n', NS, ...(app ? ['-l', `app=${app}`] : []), '-o', 'json')).items;
  const zoneOf = new Map<string, string>();

  before(async () => {
    c = await startCluster('schedaff', ['--runtime', 'fake', '--nodes', '3']);
    nodes = (await c.kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).trim().split(/\s+/).sort();
    assert.equal(nodes.length, 3);
    await c.kubectl('label', 'node', nodes[0], nodes[1], 'topology.kubernetes.io/zone=a');
    await c.kubectl('label', 'node', nodes[2], 'topology.kubernetes.io/zone=b');
    nodes.forEach((n, i) => zoneOf.set(n, i < 2 ? 'a' : 'b'));
    await c.kubectl('apply', '-f', path.join(ROOT, 'examples/scheduling-affinity.yaml'));
  });
  after(() => c?.down());

  test('required anti-affinity: one replica per node, the fourth Pending with the Kubernetes message', async () => {
    const placed = await until('3 of 4 one-per-node pods bound', async () => {
      const list = await pods('one-per-node');
      const bound = list.filter((p) => p.spec.nodeName);
      return list.length === 4 && bound.length === 3 ? list : undefined;
    }, 90_000);
    assert.deepEqual(placed.filter((p) => p.spec.nodeName).map((p) => p.spec.nodeName).sort(), nodes);
    const pending = placed.find((p) => !p.spec.nodeName)!;
    const message = "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.";
    const cond = await until('PodScheduled=False', async () => {
      const p = JSON.parse(await c.kubectl('get', 'pod', '-n', NS, pending.metadata.name, '-o', 'json'));
      return p.status.conditions?.find((x: any) => x.type === 'PodScheduled' && x.status === 'False' && x.reason === 'Unschedulable');
    });
    assert.equal(cond.message, message);
    const describe = await until('FailedScheduling event', async () => {
      const out = await c.kubectl('describe', 'pod', '-n', NS, pending.metadata.name);
      return /FailedScheduling/.test(out) ? out : undefined;
    });
    assert.ok(describe.includes(message), describe);
  });

  test('topology spread: four replicas over zones a and b, two each', async () => {
    const list = await until('4 zone-spread pods bound', async () => {
      const l = await pods('zone-spread');
      return l.length === 4 && l.every((p) => p.spec.nodeName) ? l : undefined;
    }, 90_000);
    const perZone = { a: 0, b: 0 } as Record<string, number>;
    for (const p of list) perZone[zoneOf.get(p.spec.nodeName)!]++;
    assert.deepEqual(perZone, { a: 2, b: 2 });
    // A fifth replica may go to either zone (3/2); a sixth then must even it out.
    await c.kubectl('scale', 'deployment', 'zone-spread', '-n', NS, '--replicas=6');
    const six = await until('6 bound', async () => {
      const l = await pods('zone-spread');
      return l.length === 6 && l.every((p) => p.spec.nodeName) ? l : undefined;
    }, 90_000);
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (const p of six) counts[zoneOf.get(p.spec.nodeName)!]++;
    assert.deepEqual(counts, { a: 3, b: 3 });
  });

  test('a gated pod shows SchedulingGated until its gate is removed; gates cannot be added', async () => {
    const get = async () => JSON.parse(await c.kubectl('get', 'pod', '-n', NS, 'gated', '-o', 'json'));
    const p = await get();
    assert.equal(p.spec.nodeName, undefined);
    assert.deepEqual(p.status.conditions.find((x: any) => x.type === 'PodScheduled'),
      { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null });
    assert.match(await c.kubectl('get', 'pod', '-n', NS, 'gated'), /gated\s+0\/1\s+SchedulingGated/);
    // Nothing happens while gated (the scheduler does not even try).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await get()).spec.nodeName, undefined);
    const events = JSON.parse(await c.kubectl('get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=gated', '-o', 'json')).items;
    assert.deepEqual(events.filter((e: any) => e.reason === 'FailedScheduling'), []);
    await assert.rejects(
      c.kubectl('patch', 'pod', '-n', NS, 'gated', '--type=json', '-p', '[{"op":"add","path":"/spec/schedulingGates/-","value":{"name":"example.com/more"}}]'),
      (err: Error & { stderr?: string }) => /spec.schedulingGates\[1\].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com\/more'/.test(err.stderr ?? ''));
    await c.kubectl('patch', 'pod', '-n', NS, 'gated', '--type=json', '-p', '[{"op":"remove","path":"/spec/schedulingGates"}]');
    const bound = await until('gated pod bound', async () => (await get()).spec.nodeName, 60_000);
    assert.ok(nodes.includes(bound));
    assert.equal((await get()).status.conditions.find((x: any) => x.type === 'PodScheduled').status, 'True');
  });

  test('preferred affinity places near-web in a zone with one-per-node pods (every zone has one)', async () => {
    const p = await until('near-web bound', async () => {
      const x = JSON.parse(await c.kubectl('get', 'pod', '-n', NS, 'near-web', '-o', 'json'));
      return x.spec.nodeName ? x : undefined;
    });
    assert.ok(nodes.includes(p.spec.nodeName));
  });
});
