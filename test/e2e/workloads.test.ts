// The declarative model end to end: one `kubemu up` cluster (3 Docker nodes, two schedulers and
// two controller managers with leader election, short node timeouts) driven by the real kubectl.
// Deployments roll within maxUnavailable and roll back; ReplicaSets heal; deletes cascade;
// DaemonSets follow nodes; Jobs and CronJobs run; a killed (and held down) kubelet's pods move; a killed leader's
// standby finishes a rollout without creating a pod twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/free-port.ts';
import { readState } from '../../launcher/state.ts';
import { nodeIdentity } from '../../launcher/components.ts';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { adminTls } from '../../launcher/pki.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import type { KubeObject } from '../../api/types.ts';
import { until } from '../harness/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NAME = `wl${process.pid % 10000}`;
const run = promisify(execFile);
const kubemu = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
const PODS = { group: '', resource: 'pods' };


const isReady = (p: KubeObject) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

describe('workloads on a kubemu cluster (real kubectl, real Docker)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-wl-'));
  let client: ApiClient;
  const extra: ChildProcess[] = [];
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], { encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 180_000 })).stdout;
  const pods = async (selector: string) => (await client.list(PODS, 'default', { labelSelector: selector })).items;

  before(async () => {
    const up = kubemu(['up', '--dir', dir, '--name', NAME, '--nodes', '3', '--control-plane-replicas', '2', '--port', String(await freePort()),
      '--grpc-port', String(await freePort()), '--node-monitor-grace-period', '6', '--pod-eviction-timeout', '2', '--leader-lease-seconds', '4']);
    assert.equal(up.status, 0, up.stderr + up.stdout);
    const state = readState(dir)!;
    client = createApiClient({ transport: 'http', server: state.components.find((c) => c.name === 'apiserver')!.url!, tls: adminTls(dir) });
  });
  after(async () => {
    for (const p of extra) p.kill('SIGKILL');
    // The node that joined later is not in the cluster's state: take its pod containers here.
    await removeNodeContainers([nodeIdentity(NAME, 4).nodeName], nodeIdentity(NAME, 4).network).catch(() => 0);
    await client?.close();
    const down = kubemu(['down', '--dir', dir, '--purge']);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(down.status, 0, down.stderr);
  });

  test('a CronJob */1 creates Jobs (checked at the end, as it needs a minute boundary)', async () => {
    await kubectl('create', 'cronjob', 'tick', '--image=kubemu/busybox:1', '--schedule=*/1 * * * *', '--', 'sh', '-c', 'echo tick');
  });

  test('Deployment 3 → scale 5 → set image: available never below replicas − maxUnavailable; rollout status, history, undo', async () => {
    await kubectl('create', 'deployment', 'web', '--image=kubemu/hello:1', '--replicas=3', '--port=8080');
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
    await kubectl('scale', 'deployment/web', '--replicas=5');
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.equal((await pods('app=web')).filter(isReady).length, 5);

    const d = JSON.parse(await kubectl('get', 'deployment', 'web', '-o', 'json'));
    const maxUnavailable = Math.floor(5 * 0.25); // the default 25%, rounded down
    await kubectl('set', 'image', 'deployment/web', 'hello=kubemu/hello:2');
    let sampling = true;
    let minAvailable = Infinity;
    const sampler = (async () => {
      while (sampling) {
        minAvailable = Math.min(minAvailable, (await pods('app=web')).filter(isReady).length);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const out = await kubectl('rollout', 'status', 'deployment/web', '--timeout=180s');
    sampling = false;
    await sampler;
    assert.match(out, /successfully rolled out/);
    assert.ok(minAvailable >= 5 - maxUnavailable, `available pods fell to ${minAvailable} (replicas 5, maxUnavailable ${maxUnavailable})`);
    const now = await pods('app=web');
    assert.equal(now.filter(isReady).length, 5);
    assert.ok(now.filter(isReady).every((p) => p.spec.containers[0].image === 'kubemu/hello:2'), 'every pod replaced');
    assert.ok(now.filter(isReady).every((p) => !d.status || p.metadata.creationTimestamp), 'pods are new');

    const history = await kubectl('rollout', 'history', 'deployment/web');
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);
    await kubectl('rollout', 'undo', 'deployment/web');
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=180s');
    const back = (await pods('app=web')).filter(isReady);
    assert.equal(back.length, 5);
    assert.ok(back.every((p) => p.spec.containers[0].image === 'kubemu/hello:1'), 'undo brought the old template back');
    assert.match(await kubectl('rollout', 'history', 'deployment/web'), /^3\s/m);
    const rss = JSON.parse(await kubectl('get', 'rs', '-l', 'app=web', '-o', 'json')).items;
    assert.equal(rss.length, 2, 'the undo reused the first ReplicaSet instead of making a third');
  });

  test('a deleted pod of a ReplicaSet is replaced; deleting the Deployment takes its ReplicaSets and pods', async () => {
    const before = (await pods('app=web')).filter(isReady);
    const victim = before[0].metadata.name!;
    await kubectl('delete', 'pod', victim, '--wait=false');
    await until('a replacement pod Ready', async () => {
      const ps = (await pods('app=web')).filter(isReady);
      return ps.length === 5 && !ps.some((p) => p.metadata.name === victim);
    });
    await kubectl('delete', 'deployment', 'web');
    await until('ReplicaSets and pods gone', async () => (await kubectl('get', 'rs,pods', '-l', 'app=web', '-o', 'name')).trim() === '', 90_000);
  });

  test('a DaemonSet runs one pod per node and gets one on a node that joins later', async () => {
    await kubectl('apply', '-f', path.join(ROOT, 'examples/daemonset.yaml'));
    await until('3 daemon pods', async () => (await pods('app=node-agent')).filter(isReady).length === 3);
    const nodesOf = async () => new Set((await pods('app=node-agent')).filter(isReady).map((p) => p.spec.nodeName));
    assert.equal((await nodesOf()).size, 3);
    // A fourth kubelet joins.
    const { nodeName, nodeIP, network } = nodeIdentity(NAME, 4);
    const kubeconfig = path.join(dir, 'kubeconfig');
    const k = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'kubelet/main.ts'), '--kubeconfig', kubeconfig, '--transport', 'http',
      '--node-name', nodeName, '--node-ip', nodeIP, '--network', network, '--root-dir', path.join(dir, 'kubelet', nodeName), '--log-level', 'warn'],
    { cwd: ROOT, stdio: 'ignore' });
    extra.push(k);
    await until('a daemon pod on the new node', async () => (await nodesOf()).has(nodeName), 90_000);
    await kubectl('delete', 'daemonset', 'node-agent');
    k.kill('SIGTERM');
    await until('the new node gone', async () => { await kubectl('delete', 'node', nodeName, '--ignore-not-found'); return true; });
  });

  test('a Job with completions 5 / parallelism 2 completes', async () => {
    await kubectl('apply', '-f', path.join(ROOT, 'examples/job.yaml'));
    let maxActive = 0;
    await until('the Job complete', async () => {
      const j = JSON.parse(await kubectl('get', 'job', 'count-to-five', '-o', 'json'));
      maxActive = Math.max(maxActive, j.status?.active ?? 0);
      return j.status?.succeeded === 5 && j.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True');
    }, 120_000);
    assert.ok(maxActive <= 2, `parallelism 2, saw ${maxActive} active`);
    const done = (await pods('job-name=count-to-five')).filter((p) => p.status?.phase === 'Succeeded');
    assert.equal(done.length, 5);
  });

  test('a Job whose pod has a sidecar completes: the sidecar is stopped once the main container is done', async () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'with-sidecar', namespace: 'default' }, spec: { backoffLimit: 0, template: { spec: {
      restartPolicy: 'Never', terminationGracePeriodSeconds: 2,
      initContainers: [{ name: 'log-shipper', image: 'kubemu/busybox:1', restartPolicy: 'Always', command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'] }],
      containers: [{ name: 'main', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo working; sleep 2; echo done'] }] } } } };
    const file = path.join(dir, 'job-sidecar.json');
    fs.writeFileSync(file, JSON.stringify(job));
    await kubectl('apply', '-f', file);
    await until('the Job with a sidecar complete', async () => {
      const j = JSON.parse(await kubectl('get', 'job', 'with-sidecar', '-o', 'json'));
      return j.status?.succeeded === 1 && j.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True');
    }, 120_000);
    const [p] = await pods('job-name=with-sidecar');
    assert.equal(p.status?.phase, 'Succeeded');
    assert.ok(p.status?.initContainerStatuses?.[0]?.state?.terminated, 'the sidecar was stopped');
    assert.equal(await kubectl('logs', p.metadata.name!, '-c', 'main'), 'working\ndone\n');
  });

  test('kill -9 a kubelet and keep it down (--no-restart): its node goes NotReady and its pods are replaced on the other nodes', async () => {
    await kubectl('create', 'deployment', 'spread', '--image=kubemu/hello:1', '--replicas=6');
    await kubectl('rollout', 'status', 'deployment/spread', '--timeout=120s');
    const victimNode = nodeIdentity(NAME, 3).nodeName;
    const onVictim = (await pods('app=spread')).filter((p) => p.spec.nodeName === victimNode).map((p) => p.metadata.name);
    assert.ok(onVictim.length > 0, 'the scheduler spread pods onto every node');
    // --no-restart: the supervisor would start a killed kubelet again within a second, and the node would stay Ready.
    const kill = kubemu(['kill', '--no-restart', `kubelet-${victimNode}`, '--dir', dir]);
    assert.equal(kill.status, 0, kill.stderr);
    await until('the node NotReady', async () => /NotReady/.test(await kubectl('get', 'node', victimNode)), 60_000);
    const taints = JSON.parse(await kubectl('get', 'node', victimNode, '-o', 'jsonpath={.spec.taints}'));
    assert.ok(taints.some((t: { key: string }) => t.key === 'node.kubernetes.io/unreachable'));
    await until('6 Ready pods, none on the dead node', async () => {
      const ps = (await pods('app=spread')).filter(isReady);
      return ps.length === 6 && ps.every((p) => p.spec.nodeName !== victimNode) && !onVictim.some((n) => ps.some((p) => p.metadata.name === n));
    }, 120_000);
    await kubectl('delete', 'deployment', 'spread');
  });

  test('kill -9 the leading controller manager during a rollout: the standby finishes it and creates no pod twice', async () => {
    await kubectl('create', 'deployment', 'ha', '--image=kubemu/hello:1', '--replicas=4');
    await kubectl('rollout', 'status', 'deployment/ha', '--timeout=120s');
    const added = new Map<string, number>();
    const w = await client.watch(PODS, 'default', { labelSelector: 'app=ha' });
    const counting = (async () => {
      for await (const ev of w) {
        const hash = ev.object?.metadata?.labels?.['pod-template-hash'];
        if (ev.type === 'ADDED' && hash) added.set(hash, (added.get(hash) ?? 0) + 1);
      }
    })();
    await kubectl('set', 'image', 'deployment/ha', 'hello=kubemu/hello:2');
    const lease = JSON.parse(await kubectl('get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'json'));
    const leaderPid = Number(String(lease.spec.holderIdentity).split('_').pop());
    const cms = readState(dir)!.components.filter((c) => c.name.startsWith('controller-manager'));
    assert.ok(cms.some((c) => c.pid === leaderPid), `the leader ${lease.spec.holderIdentity} is one of ours`);
    process.kill(leaderPid, 'SIGKILL');
    await kubectl('rollout', 'status', 'deployment/ha', '--timeout=180s');
    const after = JSON.parse(await kubectl('get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'json'));
    assert.notEqual(after.spec.holderIdentity, lease.spec.holderIdentity, 'the standby took over');
    const rs = JSON.parse(await kubectl('get', 'rs', '-l', 'app=ha', '-o', 'json')).items.find((r: KubeObject) => r.spec.replicas === 4);
    const newHash = rs.metadata.labels['pod-template-hash'];
    await new Promise((r) => setTimeout(r, 500));
    w.close();
    await counting.catch(() => {});
    assert.equal(added.get(newHash), 4, `pods created for the new template: ${added.get(newHash)} (want exactly 4)`);
    assert.equal((await pods('app=ha')).filter(isReady).length, 4);
  });

  test('kill -9 the leading scheduler: the standby schedules the next pod', async () => {
    const lease = JSON.parse(await kubectl('get', 'lease', '-n', 'kube-system', 'kube-scheduler', '-o', 'json'));
    const leaderPid = Number(String(lease.spec.holderIdentity).split('_').pop());
    assert.ok(readState(dir)!.components.some((c) => c.name.startsWith('scheduler') && c.pid === leaderPid));
    process.kill(leaderPid, 'SIGKILL');
    await kubectl('run', 'after-failover', '--image=kubemu/hello:1', '--restart=Never');
    await until('the pod scheduled and running', async () => (await client.get(PODS, 'default', 'after-failover')).status?.phase === 'Running', 60_000);
    const now = JSON.parse(await kubectl('get', 'lease', '-n', 'kube-system', 'kube-scheduler', '-o', 'json'));
    assert.notEqual(now.spec.holderIdentity, lease.spec.holderIdentity);
  });

  test('the CronJob created a Job named <cronjob>-<minutes since epoch>', async () => {
    const jobs = await until('a Job from the CronJob', async () => {
      const list = JSON.parse(await kubectl('get', 'jobs', '-o', 'json')).items.filter((j: KubeObject) => j.metadata.ownerReferences?.[0]?.name === 'tick');
      return list.length > 0 && list;
    }, 130_000);
    assert.match(jobs[0].metadata.name, /^tick-\d{8}$/);
  });
});
