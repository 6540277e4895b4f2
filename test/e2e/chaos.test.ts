// Chaos, bounded: kill -9 of every component of a 2-node Docker cluster in turn (etcd, the apiserver,
// the scheduler, the controller manager, the DNS, each node's kubelet and kube-proxy), each left to
// come back by itself (the supervisor), under a ConfigMap create/delete loop and Service traffic.
// Afterwards: no ConfigMap whose create was answered is lost and none whose delete was answered is
// back, no pod was created twice (the same pods, by UID, all along), every component runs again,
// traffic reaches every pod, and the cluster reconciles (a scale-up gets its pod).
import { adminTls } from '../../launcher/pki.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../../launcher/state.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { getOnce, hits, kubemu, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { deployWebApp, readyBackends, WEB_APP, type WebService } from '../harness/web-app.ts';

const NAME = `chs${process.pid % 10000}`;
const CONFIGMAPS = { group: '', resource: 'configmaps' };
const PODS = { group: '', resource: 'pods' };

/** The request's outcome, or 'unknown' when it failed or took too long (it may or may not have happened). */
async function outcome(p: Promise<unknown>, ms = 5000): Promise<'ok' | 'unknown'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'unknown'>((r) => { timer = setTimeout(() => r('unknown'), ms); });
  try {
    return await Promise.race([p.then(() => 'ok' as const, () => 'unknown' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('chaos: kill -9 of every component in turn under writes and traffic', { timeout: 420_000 }, () => {
  let c: KubemuCluster;
  let client: ApiClient;
  let web: WebService;
  before(async () => {
    c = await startCluster(NAME, ['--nodes', '2']);
    client = createApiClient({ transport: 'http', server: c.state().apiserver, tls: adminTls(c.dir) });
    const file = path.join(c.dir, 'web.yaml');
    fs.writeFileSync(file, WEB_APP);
    web = await deployWebApp(c, file);
  });
  after(async () => { await client?.close(); c?.down(); });

  test('no object lost, no pod twice, every component back by itself, reconciling again', async () => {
    const initialPods = (await client.list(PODS, 'default', { labelSelector: 'app=web' })).items.map((p) => p.metadata.uid!).sort();
    assert.equal(initialPods.length, 3);
    let stop = false;

    // Writes: create chaos-1, chaos-2, …; after each even one, delete the one before it.
    const created = new Map<string, 'ok' | 'unknown'>();
    const deleted = new Map<string, 'ok' | 'unknown'>();
    const writes = (async () => {
      for (let i = 1; !stop; i++) {
        const name = `chaos-${i}`;
        created.set(name, await outcome(client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { chaos: 'yes' } }, data: { i: String(i) } })));
        if (i % 2 === 0) deleted.set(`chaos-${i - 1}`, await outcome(client.delete(CONFIGMAPS, 'default', `chaos-${i - 1}`)));
        await sleep(50);
      }
    })();
    // Traffic: one new connection to the ClusterIP at a time.
    const traffic = { ok: 0, failed: 0 };
    const load = (async () => {
      while (!stop) {
        try { await getOnce(`http://${web.clusterIP}:80/`, 2000); traffic.ok++; } catch { traffic.failed++; await sleep(100); }
      }
    })();
    // Every pod UID seen while it runs (a pod created twice would show as a new UID).
    const podsSeen = new Set(initialPods);
    const watchPods = (async () => {
      while (!stop) {
        try { for (const p of (await client.list(PODS, 'default', { labelSelector: 'app=web' })).items) podsSeen.add(p.metadata.uid!); } catch { /* the apiserver is down: next time */ }
        await sleep(300);
      }
    })();

    const order = ['etcd', 'apiserver', 'scheduler', 'controller-manager', 'dns', ...c.state().nodes!.flatMap((n) => [`kubelet-${n}`, `kube-proxy-${n}`])];
    const backAfter: string[] = [];
    try {
      for (const name of order) {
        const old = c.state().components.find((x) => x.name === name)!;
        const t0 = Date.now();
        process.kill(old.pid, 'SIGKILL');
        const now = await until(`${name} back by itself`, async () => {
          const x = c.state().components.find((y) => y.name === name)!;
          return x.pid !== old.pid && isAlive(x.pid) && x.supervised?.state === 'running' && x;
        }, 60_000, { everyMs: 100 });
        await until(`${name} answering ${now.readyUrl}`, async () => (await tlsFetch(now.readyUrl!, { signal: AbortSignal.timeout(2000) }, adminTls(c.dir))).ok, 60_000, { everyMs: 200 });
        backAfter.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await sleep(1500);
      }
    } finally {
      stop = true;
      await Promise.all([writes, load, watchPods]);
    }
    console.log(`# back and answering after kill -9: ${backAfter.join(', ')}`);
    console.log(`# ConfigMap writes: ${created.size} creates (${[...created.values()].filter((v) => v === 'unknown').length} unanswered), ${deleted.size} deletes; traffic: ${traffic.ok} answered, ${traffic.failed} failed`);

    // Every component runs, each restarted by the supervisor at least once.
    const st = kubemu(['status', '--dir', c.dir]);
    assert.equal(st.status, 0, st.stdout);
    for (const x of c.state().components) assert.ok((x.supervised?.restarts ?? 0) >= 1, `${x.name} was restarted: ${JSON.stringify(x.supervised)}`);

    // No object lost, none resurrected.
    const have = new Set((await until('the ConfigMaps listed', () => client.list(CONFIGMAPS, 'default', { labelSelector: 'chaos=yes' }), 60_000, { everyMs: 500 })).items.map((x) => x.metadata.name!));
    for (const [name, made] of created) {
      const gone = deleted.get(name);
      if (made === 'ok' && gone === undefined) assert.ok(have.has(name), `${name}: its create was answered and nobody deleted it, but it is gone`);
      if (gone === 'ok') assert.ok(!have.has(name), `${name}: its delete was answered, but it is there`);
    }
    for (const name of have) assert.ok(created.has(name), `${name}: never created`);
    assert.ok([...created.values()].filter((v) => v === 'ok').length > 50, 'the writes went on around the faults');

    // The same three pods all along: none created twice, none replaced.
    assert.deepEqual([...podsSeen].sort(), initialPods, 'no pod created while components were killed');
    assert.deepEqual((await client.list(PODS, 'default', { labelSelector: 'app=web' })).items.map((p) => p.metadata.uid!).sort(), initialPods);

    // Traffic reaches every pod again, and the cluster reconciles: a scale-up gets its pod, served too.
    assert.ok(traffic.ok > traffic.failed, `most requests answered during the chaos: ${JSON.stringify(traffic)}`);
    await c.kubectl('scale', 'deployment/web', '--replicas=4');
    await until('4 ready endpoints', async () => (await readyBackends(c)).length === 4, 120_000);
    const backends = await readyBackends(c);
    await until('the ClusterIP answering from all 4 pods', async () => new Set(await hits(`http://${web.clusterIP}:80/`, 8)).size === 4, 60_000);
    assert.deepEqual([...new Set(await hits(`http://${web.clusterIP}:80/`, 8))].sort(), backends);
  });
});
