// Issue 13 item 3: etcd, then the apiserver, killed and kept down for 1, 5 and 15 s. The scheduler and
// the controller manager lose their leader lease in such an outage and exit, as Kubernetes' do; the
// supervisor starts them again, so after every outage a Deployment scaled up gets its new pods
// (created by the controller manager, placed by the scheduler) with no manual step. A hollow node:
// no Docker needed; leases of 4 s so every outage but the shortest outlasts them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeIdentity } from '../../launcher/components.ts';
import { isRunning } from '../../launcher/state.ts';
import { FaultInjector } from '../../cluster/faults.ts';
import { startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const NAME = `out${process.pid % 10000}`;
const NODE = nodeIdentity(NAME, 1).nodeName;
const CONTROLLERS = ['scheduler', 'controller-manager'];

describe('etcd and the apiserver down for 1, 5 and 15 s: the cluster reconciles afterwards by itself', { timeout: 420_000 }, () => {
  let c: KubemuCluster;
  before(async () => {
    c = await startCluster(NAME, ['--nodes', '1', '--runtime', 'fake', '--leader-lease-seconds', '4']);
    await c.kubectl('create', 'deployment', 'app', '--image=kubemu/hello:1', '--replicas=1');
  });
  after(() => c?.down());

  const scheduled = async () => JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=app', '-o', 'json')).items
    .filter((p: { metadata: { deletionTimestamp?: string }; spec: { nodeName?: string } }) => p.spec.nodeName === NODE && !p.metadata.deletionTimestamp).length;
  const restarts = () => Object.fromEntries(c.state().components.filter((x) => CONTROLLERS.includes(x.name)).map((x) => [x.name, x.supervised?.restarts ?? 0]));

  let replicas = 1;
  for (const target of ['etcd', 'apiserver']) {
    for (const seconds of [1, 5, 15]) {
      test(`${target} down ${seconds} s`, async () => {
        await until('1 scheduled pod per replica before the outage', async () => (await scheduled()) === replicas, 60_000);
        const f = new FaultInjector(c.dir);
        const before = restarts();
        await f.kill(target, 'SIGKILL', { restart: false });
        const t0 = Date.now();
        await sleep(seconds * 1000);
        await f.restart(target); // started again, and answering
        const down = (Date.now() - t0) / 1000;

        // No manual step from here on: scale up, and the new pods must come.
        const t1 = Date.now();
        replicas++;
        await until('the scale accepted', async () => { await c.kubectl('scale', 'deployment/app', `--replicas=${replicas}`); return true; }, 60_000, { everyMs: 500 });
        await until(`${replicas} pods created and scheduled`, async () => (await scheduled()) === replicas, 120_000, { everyMs: 500 });
        const reconciled = (Date.now() - t1) / 1000;
        for (const name of CONTROLLERS) {
          const x = c.state().components.find((y) => y.name === name)!;
          assert.ok(isRunning(x), `${name} runs after the outage (${x.supervised?.state})`);
        }
        const now = restarts();
        const restarted = CONTROLLERS.map((n) => `${n} ${now[n] - before[n]}×`).join(', ');
        console.log(`# ${target} down ${down.toFixed(1)} s: restarted by the supervisor: ${restarted}; scaled to ${replicas} and reconciled in ${reconciled.toFixed(1)} s`);
        // Outages longer than the lease cost both leaders their lease: they exited, and came back.
        if (seconds >= 5 && target === 'etcd') assert.ok(CONTROLLERS.some((n) => now[n] > before[n]), `a controller lost its lease and was restarted: ${restarted}`);
      });
    }
  }
});
