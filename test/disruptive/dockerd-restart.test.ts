// A dockerd restart — what kind and k3d clusters are known not to survive — must lose nothing. Two clusters
// go through one restart of the Docker engine: a `kubemu up` cluster (etcd and the components are host
// processes; only the pods are containers) and the docker-compose.yml stack (everything is a container,
// etcd's data in volumes). After it, both have every object, the same Pod objects, every pod running again in
// a new container and Ready, and their Services rotate over the pods again.
// This restarts the engine every other test uses: scripts/test.sh runs test/disruptive/ alone, after the rest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { cleanupServiceNetwork } from '../../launcher/service-network.ts';
import { COMPOSE_ADDRS, COMPOSE_NODES, composeCluster, composeProject, type ComposeProject } from '../harness/compose.ts';
import { assertRotation, hits, ROOT, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { podSnapshot, untilPodsRestarted, type PodSnapshot } from '../harness/pods-restarted.ts';
import { deployWebApp, readyBackends, WEB_APP, type WebService } from '../harness/web-app.ts';

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
const dockerUp = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

/** Stops the Docker engine and starts it again: systemd's unit where there is one, else the dockerd process
 *  itself (as scripts/ensure-deps.sh starts it), started again with the command line it had. */
async function restartDockerd(): Promise<void> {
  if (spawnSync('systemctl', ['is-active', '--quiet', 'docker'], { stdio: 'ignore' }).status === 0) {
    execFileSync('systemctl', ['restart', 'docker'], { timeout: 120_000 });
  } else {
    const pid = Number(execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(' ')[0]);
    assert.ok(pid > 0, 'no dockerd process to restart');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGTERM');
    await until('dockerd to stop', async () => !fs.existsSync(`/proc/${pid}`), 120_000, { everyMs: 200 });
    const log = fs.openSync('/var/log/kubemu-dockerd.log', 'a');
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref();
    fs.closeSync(log);
  }
  await until('dockerd to answer again', async () => dockerUp(), 120_000, { everyMs: 500 });
}

interface Snapshot extends PodSnapshot { objects: string[] }

/** Every object's name, and every pod with its current container ids. */
async function snapshot(c: KubemuCluster): Promise<Snapshot> {
  const objects = lines(await c.kubectl('get', 'deployments,replicasets,services,endpoints,configmaps,serviceaccounts,leases', '-A', '-o', 'name'));
  return { objects: objects.filter((o) => !o.startsWith('lease')).sort(), ...await podSnapshot(c) }; // leases come and go with leaders
}

async function assertCameBack(c: KubemuCluster, before: Snapshot, web: WebService, what: string): Promise<void> {
  await until(`${what}: every node Ready`, async () => lines(await c.kubectl('get', 'nodes', '--no-headers')).every((l) => / Ready /.test(l)), 180_000, { everyMs: 1000 });
  await untilPodsRestarted(c, before, what, 240_000);
  const now = await snapshot(c);
  assert.deepEqual(now.pods, before.pods, `${what}: the same Pod objects (names and UIDs)`);
  assert.deepEqual(now.objects, before.objects, `${what}: the same objects`);
  await until(`${what}: 3 ready endpoints`, async () => (await readyBackends(c)).length === 3, 120_000, { everyMs: 1000 });
  const backends = await readyBackends(c);
  await until(`${what}: the ClusterIP answering from every pod`, async () => new Set(await hits(`http://${web.clusterIP}:80/`, 3)).size === 3, 120_000, { everyMs: 1000 });
  assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), backends, `${what}: ClusterIP after the dockerd restart`);
}

describe('a dockerd restart keeps every object and brings every pod back', { timeout: 1_200_000 }, () => {
  let host: KubemuCluster | undefined;
  let p: ComposeProject | undefined;
  let compose: KubemuCluster;
  const webs: Record<string, WebService> = {};

  before(async () => {
    for (const script of ['build-images.sh', 'build-compose-images.sh']) {
      const r = spawnSync('bash', [path.join(ROOT, 'scripts', script)], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
      assert.equal(r.status, 0, `scripts/${script} failed:\n${r.stdout}\n${r.stderr}`);
    }
    host = await startCluster(`dkr${process.pid % 10000}`, ['--nodes', '2']);
    p = await composeProject(`kubemu-e2e-dockerd-${process.pid}`);
    const up = p.dc(['up', '-d'], 900_000);
    assert.equal(up.status, 0, `docker-compose up -d failed:\n${up.out}`);
    compose = composeCluster(p);
    for (const [name, c] of [['host', host], ['compose', compose]] as const) {
      const file = path.join(c.dir, 'web.yaml');
      fs.writeFileSync(file, WEB_APP);
      webs[name] = await deployWebApp(c, file);
    }
  }, { timeout: 1_000_000 });

  after(async () => {
    if (!dockerUp()) await restartDockerd().catch(() => {});
    try { host?.down(); } catch { /* reported by the test */ }
    if (p) {
      if (process.exitCode || process.env.KUBEMU_KEEP_LOGS) fs.writeFileSync(`/tmp/kubemu-e2e-logs-${p.project}.log`, p.dc(['logs', '--no-color']).out);
      p.dc(['down', '-v', '--remove-orphans', '-t', '2']);
      await removeNodeContainers(COMPOSE_NODES.map((n) => n.nodeName), COMPOSE_NODES[0].network).catch(() => {});
      await cleanupServiceNetwork(COMPOSE_ADDRS.serviceCIDR, COMPOSE_NODES.map((n) => n.nodeName)).catch(() => {});
      fs.rmSync(p.dir, { recursive: true, force: true });
    }
  });

  test('a kubemu up cluster and the docker compose stack', { timeout: 900_000 }, async () => {
    const before = { host: await snapshot(host!), compose: await snapshot(compose) };
    assert.ok(before.host.pods.length >= 4 && before.compose.pods.length >= 4, 'the web app and its client pod in both');
    await restartDockerd();
    await assertCameBack(host!, before.host, webs.host, 'kubemu up');
    await assertCameBack(compose, before.compose, webs.compose, 'docker compose');
  });
});
