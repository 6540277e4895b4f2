// kubemu up's supervisor on a real cluster (hollow node, so no Docker is needed): kill -9 of the
// scheduler and the controller manager, and both come back by themselves, shown by `kubemu status`,
// their logs and Events, and reconcile again; `kill --no-restart` and `stop-node` stay down until
// started; `down` stops the supervisor first, so nothing comes back during teardown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeIdentity } from '../../launcher/components.ts';
import { isAlive, readSupervisorFile, type ComponentState } from '../../launcher/state.ts';
import { kubemu, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const NAME = `sup${process.pid % 10000}`;
const NODE = nodeIdentity(NAME, 1).nodeName;

describe('the supervisor of kubemu up', { timeout: 300_000 }, () => {
  let c: KubemuCluster;
  before(async () => { c = await startCluster(NAME, ['--nodes', '1', '--runtime', 'fake', '--leader-lease-seconds', '4']); });
  after(() => c?.down());

  const component = (name: string): ComponentState => c.state().components.find((x) => x.name === name)!;
  const running = (name: string) => { const x = component(name); return isAlive(x.pid) && x.supervised?.state === 'running' ? x : undefined; };
  /** Pods of the app the controller manager created and the scheduler bound (the hollow node cannot pull kubemu/hello: that is not the point here). */
  const scheduledPods = async (app: string) => JSON.parse(await c.kubectl('get', 'pods', '-l', `app=${app}`, '-o', 'json')).items
    .filter((p: { spec: { nodeName?: string } }) => p.spec.nodeName === NODE).length;

  test('kill -9 of the scheduler and the controller manager: both come back by themselves, shown in status, logs and Events, and reconcile', async () => {
    const before = { scheduler: component('scheduler'), cm: component('controller-manager') };
    assert.equal(before.scheduler.supervised?.restarts, 0);
    process.kill(before.scheduler.pid, 'SIGKILL');
    process.kill(before.cm.pid, 'SIGKILL');
    const scheduler = await until('the scheduler restarted', async () => { const x = running('scheduler'); return x && x.pid !== before.scheduler.pid && x; }, 30_000);
    const cm = await until('the controller manager restarted', async () => { const x = running('controller-manager'); return x && x.pid !== before.cm.pid && x; }, 30_000);
    for (const x of [scheduler, cm]) {
      assert.equal(x.supervised!.restarts, 1, x.name);
      assert.equal(x.supervised!.lastExit?.signal, 'SIGKILL', x.name);
      assert.equal(x.supervised!.backoffMs, 1000, `${x.name}: the first restart waits 1 s`);
      assert.match(fs.readFileSync(x.log, 'utf8'), new RegExp(`"component":"supervisor","msg":"restarted ${x.name} \\(pid \\d+ → ${x.pid}\\) after it exited \\(signal SIGKILL\\); back-off 1 s, restart 1"`));
    }
    await until('both healthy again', async () => (await fetch(`${scheduler.url}/healthz`)).ok && (await fetch(`${cm.url}/healthz`)).ok, 30_000);

    const st = kubemu(['status', '--dir', c.dir]);
    assert.equal(st.status, 0, st.stdout);
    assert.match(st.stdout, /^COMPONENT\s+PID\s+STATUS\s+RESTARTS\s+LAST EXIT/m);
    assert.match(st.stdout, /^scheduler\s+pid \d+\s+running\s+1\s+signal SIGKILL, \d+ s ago/m);
    assert.match(st.stdout, /^controller-manager\s+pid \d+\s+running\s+1\s+signal SIGKILL, \d+ s ago/m);
    assert.match(st.stdout, /^apiserver\s+pid \d+\s+running\s+0\s/m);
    assert.match(st.stdout, /^supervisor pid \d+ running/m);

    const events = await until('the ComponentRestarted Events', async () => {
      const out = await c.kubectl('get', 'events', '--field-selector', 'reason=ComponentRestarted', '-o', 'json');
      const items = JSON.parse(out).items as Array<{ involvedObject: { kind: string; name: string }; message: string; source: { component: string } }>;
      return items.length >= 2 && items;
    }, 30_000);
    for (const name of ['scheduler', 'controller-manager']) {
      const ev = events.find((e) => e.involvedObject.name === name);
      assert.ok(ev, `an Event about ${name}: ${JSON.stringify(events)}`);
      assert.equal(ev.involvedObject.kind, 'ComponentStatus');
      assert.equal(ev.source.component, 'kubemu-supervisor');
      assert.match(ev.message, new RegExp(`^${name} exited \\(signal SIGKILL\\) and was restarted after a back-off of 1 s`));
    }

    // The restarted pair works: a new Deployment gets its ReplicaSet (controller manager) and its pods placed (scheduler).
    await c.kubectl('create', 'deployment', 'after-restart', '--image=kubemu/hello:1', '--replicas=2');
    await until('2 pods created and scheduled', async () => (await scheduledPods('after-restart')) === 2, 60_000);
  });

  test('a component that keeps exiting backs off 1, 2, 4 s, and status shows it waiting', async () => {
    const backoffs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const old = running('dns') ?? await until('dns running', async () => running('dns'), 30_000);
      process.kill(old.pid, 'SIGKILL');
      const waiting = await until('dns in back-off', async () => { const x = component('dns'); return x.pid === old.pid && x.supervised?.state === 'backoff' && x; }, 10_000, { everyMs: 50 });
      backoffs.push(waiting.supervised!.backoffMs!);
      if (i < 2) await until('dns restarted', async () => { const x = running('dns'); return x && x.pid !== old.pid; }, 30_000, { everyMs: 50 });
    }
    assert.deepEqual(backoffs.slice(-3), [backoffs[0], backoffs[0] * 2, backoffs[0] * 4], `doubling: ${backoffs}`);
    assert.equal(backoffs[2], 4000, `1 s, 2 s, 4 s: ${backoffs}`);
    const st = kubemu(['status', '--dir', c.dir]);
    assert.equal(st.status, 1, 'dns is not running right now');
    assert.match(st.stdout, /^dns\s+pid \d+\s+back-off 4 s \(restart in [1-4] s\)\s+2\s+signal SIGKILL, \d+ s ago/m);
    await until('dns back after its back-off', async () => running('dns'), 30_000);
    assert.equal(component('dns').supervised?.restarts, 3);
  });

  test('kill --no-restart stays down until kubemu restart; a pod waits for the scheduler meanwhile', async () => {
    const old = component('scheduler');
    const kill = kubemu(['kill', '--no-restart', 'scheduler', '--dir', c.dir]);
    assert.equal(kill.status, 0, kill.stderr);
    assert.match(kill.stdout, /^killed scheduler \(pid \d+\) with SIGKILL, not to be restarted$/m);
    await c.kubectl('create', 'deployment', 'waits', '--image=kubemu/hello:1', '--replicas=1');
    await sleep(4000); // past the first back-offs (1 s, 2 s)
    assert.equal(isAlive(old.pid), false);
    assert.equal(component('scheduler').pid, old.pid, 'not started again');
    assert.equal(component('scheduler').supervised?.state, 'held');
    const st = kubemu(['status', '--dir', c.dir]);
    assert.equal(st.status, 1, 'not every component runs');
    assert.match(st.stdout, /^scheduler\s+pid \d+\s+stopped \(not restarted\)\s+1\s+signal SIGKILL/m);
    const pending = JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=waits', '-o', 'json')).items;
    assert.ok(pending.length === 1 && !pending[0].spec.nodeName, 'no scheduler, no node for the pod');

    const restart = kubemu(['restart', 'scheduler', '--dir', c.dir]);
    assert.equal(restart.status, 0, restart.stderr);
    assert.match(restart.stdout, /^started scheduler again \(pid \d+\)$/m);
    assert.ok(running('scheduler'));
    await until('the waiting pod scheduled', async () => (await scheduledPods('waits')) === 1, 60_000);
  });

  test('stop-node stays stopped (the supervisor holds its kubelet) until start-node', async () => {
    const kubelet = component(`kubelet-${NODE}`);
    const stop = kubemu(['stop-node', NODE, '--dir', c.dir]);
    assert.equal(stop.status, 0, stop.stderr);
    await sleep(3500);
    assert.equal(isAlive(kubelet.pid), false);
    assert.equal(component(`kubelet-${NODE}`).supervised?.state, 'held', 'a dead machine does not come back by itself');
    const start = kubemu(['start-node', NODE, '--dir', c.dir]);
    assert.equal(start.status, 0, start.stderr);
    const now = running(`kubelet-${NODE}`);
    assert.ok(now && now.pid !== kubelet.pid);
    assert.equal(now.supervised?.restarts, 0, 'started on request: not a restart');
    assert.match(await c.kubectl('get', 'node', NODE), new RegExp(`^${NODE}\\s+Ready\\s`, 'm'));
  });

  test('down stops the supervisor first: nothing is restarted during teardown', async () => {
    const pids = c.state().components.map((x) => x.pid);
    const sup = readSupervisorFile(c.dir)!;
    const down = kubemu(['down', '--dir', c.dir]);
    assert.equal(down.status, 0, down.stderr);
    const lines = down.stdout.trim().split('\n');
    assert.match(lines[0], new RegExp(`^stopped the supervisor \\(pid ${sup.pid}\\)$`));
    assert.match(down.stdout, /stopped scheduler[\s\S]*stopped apiserver[\s\S]*stopped etcd/);
    assert.equal(isAlive(sup.pid), false);
    await sleep(1500); // a restart would have come within the first back-off
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still running`);
    assert.equal(readSupervisorFile(c.dir), undefined, 'supervisor.json removed');
    assert.ok(!fs.readdirSync('/proc').some((p) => /^\d+$/.test(p) && (() => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(c.dir); } catch { return false; } })()),
      'no process of the cluster left');
  });
});
