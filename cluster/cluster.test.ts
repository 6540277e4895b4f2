// The Cluster API against the real thing: two Docker clusters side by side in this process, faults
// injected into one of them (components, kubelets, a partition, a frozen container, a dead node), each
// seen from outside as Kubernetes would show it, and stop() checked against the host for leftovers.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../api/types.ts';
import { clusterAddresses, nodeIdentity } from '../launcher/components.ts';
import { isAlive } from '../launcher/state.ts';
import { Cluster } from './cluster.ts';
import { cgroup2Mount } from '../launcher/partition.ts';
import { waitFor, waitForDeployment, waitForJob } from './wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = async (cmd: string, ...args: string[]) => (await promisify(execFile)(cmd, args, { encoding: 'utf8' })).stdout;
const kubemu = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

const PODS = { group: '', resource: 'pods' };
const CONFIGMAPS = { group: '', resource: 'configmaps' };
const EVENTS = { group: '', resource: 'events' };
const readyStatus = (node: KubeObject) => node.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;

/** A pod on `node` that is never evicted from it (these tests take its node away on purpose). */
function pinnedPod(name: string, node: string): KubeObject {
  const stay = (key: string) => ({ key, operator: 'Exists', effect: 'NoExecute' });
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'hello', image: 'kubemu/hello:1' }],
      tolerations: [stay('node.kubernetes.io/unreachable'), stay('node.kubernetes.io/not-ready')] },
  };
}

async function runningPod(c: Cluster, name: string): Promise<KubeObject> {
  return waitFor(c.client, PODS, 'default', name, (p) => p.status?.phase === 'Running' && !!p.status.containerStatuses?.[0]?.state?.running,
    { what: 'Running', timeoutMs: 90_000 });
}

const containerId = (pod: KubeObject) => String(pod.status.containerStatuses[0].containerID).replace(/^docker:\/\//, '');
const inspect = async (id: string) => JSON.parse(await run('docker', 'inspect', '--format', '{{json .State}}', id)) as { Running: boolean; Paused: boolean };

/** Everything a stopped cluster must not have left on this host. */
async function assertNothingLeft(c: { name: string; dir: string; pids: number[]; nodes: string[] }): Promise<void> {
  for (const pid of c.pids) assert.equal(isAlive(pid), false, `pid ${pid} still running`);
  for (const node of c.nodes) assert.equal((await run('docker', 'ps', '-aq', '--filter', `label=io.kubemu.node=${node}`)).trim(), '', `containers of ${node} left`);
  const network = nodeIdentity(c.name, 1).network;
  assert.doesNotMatch(await run('docker', 'network', 'ls', '--format', '{{.Name}}'), new RegExp(`^${network}$`, 'm'), `Docker network ${network} left`);
  const prefix = clusterAddresses(c.name).serviceCIDR.replace(/\.0\/24$/, '.');
  const addrs = await run('ip', '-4', '-o', 'addr', 'show').catch(() => '');
  assert.ok(!addrs.includes(`inet ${prefix}`), `an address in ${prefix}0/24 is left: ${addrs}`);
  const rules = await run('iptables-save');
  assert.ok(!rules.includes(`kubemu/${c.name}/`) && !rules.includes(`kubemu-partition:${c.name}/`), 'partition rules left');
  assert.equal(fs.existsSync(path.join(cgroup2Mount(), 'kubemu', c.name)), false, 'cgroup left');
  assert.equal(fs.existsSync(c.dir), false, `${c.dir} left`);
}

const snapshot = (c: Cluster) => ({ name: c.name, dir: c.dir, pids: c.components().map((x) => x.pid), nodes: c.nodes.map((n) => n.name) });

describe('Cluster (2 Docker nodes, with a second cluster beside it)', { timeout: 600_000 }, () => {
  let a: Cluster;
  let b: Cluster;
  const opts = { nodeMonitorGracePeriod: 6, podEvictionTimeout: 2, leaderLeaseSeconds: 4 };

  before(async () => {
    // Side by side, started at the same time from this one process.
    const started = await Promise.allSettled([Cluster.start({ nodes: 2, ...opts }), Cluster.start({ nodes: 1, ...opts })]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      for (const r of started) if (r.status === 'fulfilled') await r.value.stop();
      throw failed.reason;
    }
    [a, b] = started.map((r) => (r as PromiseFulfilledResult<Cluster>).value);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('runs two clusters that do not see each other\'s objects', async () => {
    assert.notEqual(a.name, b.name);
    assert.deepEqual(a.nodes.map((n) => n.name), [`${a.name}-node-1`, `${a.name}-node-2`]);
    assert.notEqual(a.nodes[0].ip, b.nodes[0].ip);
    assert.match(a.kubeconfig, new RegExp(`server: ${a.apiUrl}`));
    assert.ok(a.components().every((c) => c.running), JSON.stringify(a.components()));

    await a.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'only-in-a' }, data: { x: '1' } });
    assert.equal((await a.client.get(CONFIGMAPS, 'default', 'only-in-a')).metadata.name, 'only-in-a');
    await assert.rejects(b.client.get(CONFIGMAPS, 'default', 'only-in-a'), (err: { code?: string }) => err.code === 'NotFound');
    const bNodes = await b.client.list({ group: '', resource: 'nodes' }, undefined);
    assert.deepEqual(bNodes.items.map((n) => n.metadata.name), [`${b.name}-node-1`]);
  });

  it('stop() leaves nothing of the second cluster behind, and is idempotent', async () => {
    const before = snapshot(b);
    await b.stop();
    await b.stop();
    await assertNothingLeft(before);
    // The first cluster is untouched.
    assert.equal((await a.client.get(CONFIGMAPS, 'default', 'only-in-a')).metadata.name, 'only-in-a');
  });

  it('kills and restarts the scheduler; pods are scheduled again', async () => {
    const old = a.components().find((c) => c.name === 'scheduler')!;
    // restart: false: the supervisor leaves it down, so restart() is what starts it (test/e2e/supervise.test.ts: without it).
    await a.kill('scheduler', 'SIGKILL', { restart: false });
    assert.equal(a.components().find((c) => c.name === 'scheduler')!.running, false);
    await a.restart('scheduler');
    const now = a.components().find((c) => c.name === 'scheduler')!;
    assert.ok(now.running && now.pid !== old.pid);
    await a.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'after-scheduler' }, spec: { containers: [{ name: 'hello', image: 'kubemu/hello:1' }] } });
    await runningPod(a, 'after-scheduler');
  });

  it('kills and restarts a kubelet, which adopts its running pod', async () => {
    const node = a.nodes[0].name;
    await a.client.create(PODS, 'default', pinnedPod('adopted', node));
    const pod = await runningPod(a, 'adopted');
    await a.kill(`kubelet-${node}`, 'SIGKILL', { restart: false });
    assert.equal(a.components().find((c) => c.name === `kubelet-${node}`)!.running, false);
    await a.restart(`kubelet-${node}`);
    assert.equal(readyStatus(await a.client.get({ group: '', resource: 'nodes' }, undefined, node)), 'True');
    const again = await runningPod(a, 'adopted');
    assert.equal(containerId(again), containerId(pod), 'the same container, not a new one');
    assert.equal((await inspect(containerId(pod))).Running, true);
  });

  it('partitions a node from the control plane (NotReady, pods keep running) and heals it (Ready)', async () => {
    const node = a.nodes[1].name;
    await a.client.create(PODS, 'default', pinnedPod('cut-off', node));
    const pod = await runningPod(a, 'cut-off');
    await a.partitionNode(node);
    await waitFor(a.client, 'nodes', undefined, node, (n) => readyStatus(n) !== 'True', { what: 'NotReady', timeoutMs: 90_000 });
    assert.equal((await inspect(containerId(pod))).Running, true, 'the pod runs on behind the partition');
    await assert.rejects(a.partitionNode(node), /already partitioned/);
    await a.healNode(node);
    await waitFor(a.client, 'nodes', undefined, node, (n) => readyStatus(n) === 'True', { what: 'Ready again', timeoutMs: 120_000 });
  });

  it('pauses and resumes a container behind the kubelet\'s back', async () => {
    const pod = await runningPod(a, 'adopted');
    await a.pauseContainer({ name: 'adopted' }, 'hello');
    assert.equal((await inspect(containerId(pod))).Paused, true);
    await a.resumeContainer({ namespace: 'default', name: 'adopted' }, 'hello');
    assert.equal((await inspect(containerId(pod))).Paused, false);
    await assert.rejects(a.pauseContainer({ name: 'adopted' }, 'nope'), /no container "nope"; containers: hello/);
  });

  it('stops a node as if the machine died, and starts it again', async () => {
    const node = a.nodes[1].name;
    const pod = await runningPod(a, 'cut-off');
    await a.stopNode(node);
    assert.deepEqual(a.components().filter((c) => c.name.endsWith(node)).map((c) => c.running), [false, false]);
    assert.equal((await inspect(containerId(pod))).Running, false);
    await waitFor(a.client, 'nodes', undefined, node, (n) => readyStatus(n) !== 'True', { what: 'NotReady', timeoutMs: 90_000 });
    await a.startNode(node);
    assert.ok(a.components().filter((c) => c.name.endsWith(node)).every((c) => c.running));
    // The kubelet brings the pod back (a new container: the old one was killed).
    await waitFor(a.client, PODS, 'default', 'cut-off', (p) => p.status?.containerStatuses?.[0]?.state?.running && containerId(p) !== containerId(pod),
      { what: 'running in a new container', timeoutMs: 90_000 });
  });

  it('the same faults from the kubemu command line', () => {
    const kill = kubemu('kill', '--no-restart', 'dns', '--dir', a.dir);
    assert.equal(kill.status, 0, kill.stderr);
    assert.match(kill.stdout, /^killed dns \(pid \d+\) with SIGKILL, not to be restarted$/m);
    const restart = kubemu('restart', 'dns', '--dir', a.dir);
    assert.equal(restart.status, 0, restart.stderr);
    assert.match(restart.stdout, /^started dns again \(pid \d+\)$/m);
    assert.ok(a.components().find((c) => c.name === 'dns')!.running);
    const bad = kubemu('kill', 'shceduler', '--dir', a.dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no component "shceduler" in this cluster; components: etcd, apiserver, scheduler, /);
    const badNode = kubemu('partition', 'node-9', '--dir', a.dir);
    assert.equal(badNode.status, 2);
    assert.match(badNode.stderr, new RegExp(`no node "node-9" in this cluster; nodes: ${a.nodes[0].name}, ${a.nodes[1].name}`));
  });

  it('records every fault and undo in faults() and faults.jsonl, and as Events', async () => {
    const n1 = a.nodes[0].name;
    const n2 = a.nodes[1].name;
    const faults = a.faults();
    assert.deepEqual(faults.map((f) => [f.action, f.target, f.undone ?? '']), [
      ['kill', 'scheduler', ''], ['restart', 'scheduler', 'kill'],
      ['kill', `kubelet-${n1}`, ''], ['restart', `kubelet-${n1}`, 'kill'],
      ['partitionNode', n2, ''], ['healNode', n2, 'partitionNode'],
      ['pauseContainer', 'default/adopted/hello', ''], ['resumeContainer', 'default/adopted/hello', 'pauseContainer'],
      ['stopNode', n2, ''], ['startNode', n2, 'stopNode'],
      ['kill', 'dns', ''], ['restart', 'dns', 'kill'],
    ]);
    assert.deepEqual(fs.readFileSync(path.join(a.dir, 'faults.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)), faults);

    const events = (await a.client.list(EVENTS, 'default')).items.filter((e) => (e.source as { component?: string })?.component === 'kubemu-faults');
    const seen = events.map((e) => `${e.reason} ${(e.involvedObject as { kind: string }).kind}/${(e.involvedObject as { name: string }).name}: ${e.message}`);
    for (const f of faults) assert.ok(seen.some((s) => s.endsWith(`: ${f.message}`)), `no Event for ${f.message}:\n${seen.join('\n')}`);
    assert.ok(seen.includes(`FaultInjected Node/${n2}: ${faults[4].message}`), seen.join('\n'));
    assert.ok(seen.includes(`FaultUndone Node/${n2}: ${faults[5].message}`), seen.join('\n'));
    assert.ok(seen.some((s) => s.startsWith('FaultInjected Pod/adopted: paused container hello')), seen.join('\n'));

    // What people see.
    const kubectl = await run('kubectl', '--kubeconfig', a.kubeconfigPath, 'get', 'events');
    assert.match(kubectl, new RegExp(`FaultInjected\\s+node/${n2}\\s+partitioned node ${n2}`));

    const logs = await a.collectLogs(fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-logs-')));
    assert.ok(fs.existsSync(path.join(logs, 'apiserver.log')) && fs.existsSync(path.join(logs, `kubelet-${n1}.log`)));
    assert.deepEqual(fs.readFileSync(path.join(logs, 'faults.jsonl'), 'utf8'), fs.readFileSync(path.join(a.dir, 'faults.jsonl'), 'utf8'));
    fs.rmSync(logs, { recursive: true });
  });

  it('wait helpers: a rollout, and a Job that fails ends the wait early with its reason', async () => {
    await a.client.create({ group: 'apps', resource: 'deployments' }, 'default', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'hello', image: 'kubemu/hello:1' }] } } },
    });
    const d = await waitForDeployment(a.client, 'default', 'web', { timeoutMs: 90_000 });
    assert.equal(d.status.availableReplicas, 2);
    await a.client.create({ group: 'batch', resource: 'jobs' }, 'default', {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'fails' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'kubemu/busybox:1', command: ['sh', '-c', 'exit 3'] }] } } },
    });
    await assert.rejects(waitForJob(a.client, 'default', 'fails', { timeoutMs: 90_000 }), /^Error: job default\/fails failed: BackoffLimitExceeded/);
  });

  it('unknown names are errors that list the valid ones', async () => {
    await assert.rejects(a.kill('kubelet-node-7'), /no component "kubelet-node-7" in this cluster; components: etcd, apiserver, scheduler, controller-manager, dns, kubelet-/);
    await assert.rejects(a.stopNode('node-7'), new RegExp(`no node "node-7" in this cluster; nodes: ${a.nodes[0].name}, ${a.nodes[1].name}`));
  });

  it('stop() leaves nothing behind: processes, containers, network, addresses, rules, cgroups, files', async () => {
    // A partition still in place when the cluster stops is taken down too.
    await a.partitionNode(a.nodes[0].name);
    const before = snapshot(a);
    await a.stop();
    await assertNothingLeft(before);
    await assert.rejects(a.kill('scheduler'), /is stopped/);
  });
});

test('waitFor says what it expected, for how long, and what it last saw', async (t) => {
  const c = await Cluster.start({ nodes: 0, runtime: 'fake' });
  t.after(() => c.stop());
  await assert.rejects(waitFor(c.client, 'configmaps', 'default', 'absent', () => true, { timeoutMs: 300, what: 'present' }),
    { message: 'timed out after 0.3 s waiting for configmaps default/absent to be present; last seen: not found' });
  await c.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { ready: 'no' } });
  await assert.rejects(waitFor(c.client, 'cm', 'default', 'cm', (cm) => (cm.data as { ready?: string }).ready === 'yes', { timeoutMs: 300, what: 'ready' }), (err: Error) => {
    assert.match(err.message, /^timed out after 0\.3 s waiting for configmaps default\/cm to be ready; last seen: \{.*"data":\{"ready":"no"\}.*\}$/);
    assert.doesNotMatch(err.message, /managedFields/);
    return true;
  });
  await assert.rejects(waitFor(c.client, 'widgets', 'default', 'x', () => true), /unknown resource "widgets"/);
});
