// npm run bench:controllers — the whole control plane at scale, on hollow nodes (fake runtime):
//   baseline: REPLICAS pods created directly by a client (32 at a time) → all Running;
//   1. a Deployment of REPLICAS → fully available (status.availableReplicas = REPLICAS);
//   2. a rolling update of it (new template, default 25%/25%) → complete (kubectl rollout status' test).
// etcd, apiserver, scheduler and controller manager run as their own processes, as in `kubemu up`;
// the hollow kubelets run in this process. Prints a table, then one JSON line. Target: ≥ 300 pods/s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import { startApiServerComponent, startControllerManagerComponent, startEtcdComponent, startSchedulerComponent, type Started, type UpOptions } from '../launcher/components.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { freePort } from '../lib/free-port.ts';
import { startHollowNodes, stopAll } from './cluster.ts';

const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1000);
const NODES = Number(process.env.BENCH_HOLLOW_NODES ?? 50);
const PODS = { group: '', resource: 'pods' };
const DEPLOYMENTS = { group: 'apps', resource: 'deployments' };
const log = (m: string) => process.stderr.write(`${m}\n`);

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 600_000): Promise<void> {
  const end = Date.now() + ms;
  let lastLog = 0;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    if (Date.now() - lastLog > 5000) { log(`  waiting for ${what} …`); lastLog = Date.now(); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runningCount(client: ApiClient, ns: string): Promise<number> {
  return (await client.list(PODS, ns)).items.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).length;
}

const deployment = (env: string): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big' },
  spec: {
    replicas: REPLICAS, selector: { matchLabels: { app: 'big' } },
    template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'fake/app:1', env: [{ name: 'V', value: env }] }] } },
  },
});

function rolledOut(d: KubeObject): boolean {
  const s = d.status ?? {};
  return s.observedGeneration >= d.metadata.generation! && s.updatedReplicas === REPLICAS && s.replicas === REPLICAS && s.availableReplicas === REPLICAS;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-controllers-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const started: Started[] = [];
  const hollow = new AbortController();
  let client: ApiClient | undefined;
  try {
    const opts: UpOptions = { dir, port: await freePort(), grpcPort: await freePort(), logLevel: 'warn', nodeMonitorGracePeriod: 600, podEvictionTimeout: 300, leaderLeaseSeconds: 15, name: 'bench-controllers' };
    const etcd = await startEtcdComponent(opts);
    started.push(etcd);
    const api = await startApiServerComponent(opts, etcd.endpoint);
    started.push(api);
    await api.ready();
    for (const c of [await startSchedulerComponent(opts), await startControllerManagerComponent(opts)]) { started.push(c); await c.ready(); }
    client = createApiClient({ transport: 'grpc', server: `127.0.0.1:${opts.grpcPort}` });
    log(`${NODES} hollow nodes …`);
    await startHollowNodes(client, NODES, dir, hollow.signal);

    log(`baseline: ${REPLICAS} pods created directly …`);
    await client.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: 'direct' } });
    let t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < REPLICAS) {
        const i = next++;
        await client!.create(PODS, 'direct', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}` }, spec: { containers: [{ name: 'c', image: 'fake/app:1' }] } });
      }
    }));
    await waitFor('direct pods Running', async () => (await runningCount(client!, 'direct')) === REPLICAS);
    const directSec = (performance.now() - t0) / 1000;
    await client.delete({ group: '', resource: 'namespaces' }, undefined, 'direct');
    await waitFor('the direct namespace gone', async () => (await client!.list(PODS, 'direct')).items.length === 0);

    log(`Deployment of ${REPLICAS} …`);
    t0 = performance.now();
    await client.create(DEPLOYMENTS, 'default', deployment('1'));
    await waitFor('the Deployment available', async () => rolledOut(await client!.get(DEPLOYMENTS, 'default', 'big')));
    const createSec = (performance.now() - t0) / 1000;

    log('rolling update …');
    t0 = performance.now();
    await client.patch(DEPLOYMENTS, 'default', 'big', { spec: { template: { spec: { containers: [{ name: 'c', image: 'fake/app:1', env: [{ name: 'V', value: '2' }] }] } } } });
    await waitFor('the rollout complete', async () => rolledOut(await client!.get(DEPLOYMENTS, 'default', 'big')));
    const rollSec = (performance.now() - t0) / 1000;

    const rate = (s: number) => REPLICAS / s;
    const row = (name: string, s: number) => console.log(`${name.padEnd(52)} ${s.toFixed(1).padStart(7)} s  ${rate(s).toFixed(0).padStart(6)} pods/s`);
    console.log(`\nkubemu controllers benchmark (${os.cpus().length} cores; ${NODES} hollow nodes; ${REPLICAS} replicas)\n`);
    row(`baseline: ${REPLICAS} pods created directly → Running`, directSec);
    row(`Deployment of ${REPLICAS} → fully available`, createSec);
    row(`rolling update of ${REPLICAS} (25%/25%) → complete`, rollSec);
    const worst = Math.min(rate(createSec), rate(rollSec));
    console.log(`\nthrough the controllers vs directly: ${(rate(createSec) / rate(directSec)).toFixed(2)}× ; target ≥ 300 pods/s sustained: ${worst >= 300 ? 'PASS' : 'MISS'} (${worst.toFixed(0)})`);
    console.log(JSON.stringify({
      bench: 'controllers', replicas: REPLICAS, hollowNodes: NODES, directSec: +directSec.toFixed(2), directPodsPerSec: +rate(directSec).toFixed(1),
      deploymentSec: +createSec.toFixed(2), deploymentPodsPerSec: +rate(createSec).toFixed(1), rollingUpdateSec: +rollSec.toFixed(2),
      rollingUpdatePodsPerSec: +rate(rollSec).toFixed(1), deploymentVsDirect: +(rate(createSec) / rate(directSec)).toFixed(2), targetPodsPerSec: 300, pass: worst >= 300,
    }));
  } finally {
    hollow.abort();
    await client?.close();
    await stopAll(started);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
