// npm run bench:pods — pod start-up, from one run:
//   1. docker runtime: 30 pods created at once on 2 nodes → p50/p99 of create → Running, beside the
//      baseline: raw Docker Engine API create+start of 30 containers at once (same image);
//   1b. the same with one init container and a configMap volume per pod, beside raw Docker doing the same work
//      (create+start+wait for a first container, then create+start the second with a bind mount);
//   2. fake runtime: 100 hollow nodes (kubelets in this process on the in-memory runtime) and 3000 pods:
//      pods/s from the first create to the last Running.
// etcd, the apiserver and the scheduler run as their own processes, as in `kubemu up`.
// Prints a table, then one JSON line. Targets: docker p50 within 1.5× of raw Docker (plain and with an init container
// and a volume: that ratio no worse than the plain one + 10 %); hollow ≥ 300 pods/s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import { startApiServerComponent, startEtcdComponent, startKubeletComponent, startSchedulerComponent, type Started } from '../launcher/components.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { DockerEngine } from '../kubelet/cri/docker/engine.ts';
import { startHollowNodes, stopAll } from './cluster.ts';
import { freePort } from '../lib/free-port.ts';

const PODS = { group: '', resource: 'pods' };
const DOCKER_PODS = 30;
const HOLLOW_NODES = Number(process.env.BENCH_HOLLOW_NODES ?? 100);
const HOLLOW_PODS = Number(process.env.BENCH_HOLLOW_PODS ?? 3000);
const IMAGE = 'kubemu/hello:1';

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const log = (m: string) => process.stderr.write(`${m}\n`);

/** Raw Docker: create+start N containers at once; per-container latency. */
async function rawDocker(n: number): Promise<number[]> {
  const engine = new DockerEngine({ connections: 16 });
  const ids: string[] = [];
  try {
    return await Promise.all(Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      const c = await engine.json('POST', `/containers/create?name=kubemu-bench-raw-${process.pid}-${i}`, { Image: IMAGE, Labels: { 'io.kubemu.bench': 'raw' } });
      ids.push(c.Id);
      await engine.json('POST', `/containers/${c.Id}/start`);
      return performance.now() - t0;
    }));
  } finally {
    await Promise.all(ids.map((id) => engine.json('DELETE', `/containers/${id}?force=true`, undefined, [404]).catch(() => {})));
    await engine.pool.close();
  }
}

/** Raw Docker doing what a pod with one init container and a volume needs: the first container to its exit, then
 *  the second with a bind mount; N at once, per-pair latency. */
async function rawDockerInit(n: number): Promise<number[]> {
  const engine = new DockerEngine({ connections: 16 });
  const ids: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-raw-'));
  fs.writeFileSync(path.join(dir, 'greeting'), 'hello');
  try {
    return await Promise.all(Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      const init = await engine.json('POST', `/containers/create?name=kubemu-bench-rawinit-${process.pid}-${i}`, { Image: 'kubemu/busybox:1', Cmd: ['true'], Labels: { 'io.kubemu.bench': 'raw' } });
      ids.push(init.Id);
      await engine.json('POST', `/containers/${init.Id}/start`);
      await engine.json('POST', `/containers/${init.Id}/wait`);
      const c = await engine.json('POST', `/containers/create?name=kubemu-bench-rawapp-${process.pid}-${i}`, { Image: IMAGE, Labels: { 'io.kubemu.bench': 'raw' },
        HostConfig: { Binds: [`${dir}:/etc/config:ro`] } });
      ids.push(c.Id);
      await engine.json('POST', `/containers/${c.Id}/start`);
      return performance.now() - t0;
    }));
  } finally {
    await Promise.all(ids.map((id) => engine.json('DELETE', `/containers/${id}?force=true`, undefined, [404]).catch(() => {})));
    await engine.pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Create `n` pods at once; resolve each pod's create → Running latency (ms). */
async function podsToRunning(client: ApiClient, ns: string, n: number, spec: Record<string, unknown>): Promise<{ latencies: number[]; wallMs: number }> {
  const created = new Map<string, number>();
  const bound = new Set<string>();
  const running = new Map<string, number>();
  const list = await client.list(PODS, ns);
  const w = await client.watch(PODS, ns, { resourceVersion: list.metadata.resourceVersion });
  const done = (async () => {
    for await (const ev of w) {
      const p = ev.object as KubeObject;
      if (ev.type === 'ERROR') throw new Error(`watch error: ${JSON.stringify(ev.object)}`);
      if (p.spec?.nodeName) bound.add(p.metadata.name!);
      if (p.status?.phase === 'Running' && !running.has(p.metadata.name!)) {
        running.set(p.metadata.name!, performance.now());
        if (running.size === n) break;
      }
    }
  })();
  const t0 = performance.now();
  const names = Array.from({ length: n }, (_, i) => `p${i}`);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < names.length) {
      const name = names[next++];
      created.set(name, performance.now());
      await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec });
    }
  }));
  // Progress every 5 s: which stage lags (the apiserver taking creates, the scheduler binding, the kubelets starting).
  const progress = setInterval(() => log(`  ${ns}: ${created.size} created, ${bound.size} bound, ${running.size} Running`), 5000);
  try {
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${running.size}/${n} pods Running after 180 s (${bound.size} bound)`)), 180_000))]);
  } finally {
    clearInterval(progress);
    w.close();
  }
  return { latencies: names.map((nm) => running.get(nm)! - created.get(nm)!), wallMs: Math.max(...running.values()) - t0 };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-pods-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const started: Started[] = [];
  const kubelets: AbortController[] = [];
  let client: ApiClient | undefined;
  try {
    const opts = { dir, port: await freePort(), grpcPort: await freePort(), logLevel: 'warn', runtime: 'docker', nodeMonitorGracePeriod: 40, podEvictionTimeout: 300, leaderLeaseSeconds: 15, name: 'bench-pods' };
    const etcd = await startEtcdComponent(opts);
    started.push(etcd);
    const api = await startApiServerComponent(opts, etcd.endpoint);
    started.push(api);
    await api.ready();
    const sched = await startSchedulerComponent(opts);
    started.push(sched);
    await sched.ready();
    client = createApiClient({ transport: 'grpc', server: `127.0.0.1:${opts.grpcPort}` });

    log('raw Docker: 30 containers at once …');
    const raw = await rawDocker(DOCKER_PODS);

    log('docker runtime: 2 nodes, 30 pods at once …');
    for (const n of [1, 2]) { const k = await startKubeletComponent(opts, n); started.push(k); await k.ready(); }
    await client.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: 'bench-docker' } });
    const dockerRun = await podsToRunning(client, 'bench-docker', DOCKER_PODS, { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE }] });
    for (const p of (await client.list(PODS, 'bench-docker')).items) await client.delete(PODS, 'bench-docker', p.metadata.name!);
    for (let i = 0; i < 300 && (await client.list(PODS, 'bench-docker')).items.length; i++) await new Promise((r) => setTimeout(r, 100));

    log('raw Docker: 30 init+app container pairs at once …');
    const rawInit = await rawDockerInit(DOCKER_PODS);
    log('docker runtime: 30 pods with an init container and a configMap volume at once …');
    await client.create({ group: '', resource: 'configmaps' }, 'bench-docker', { metadata: { name: 'config' }, data: { greeting: 'hello' } });
    const initRun = await podsToRunning(client, 'bench-docker', DOCKER_PODS, { terminationGracePeriodSeconds: 0,
      initContainers: [{ name: 'init', image: 'kubemu/busybox:1', command: ['true'] }],
      containers: [{ name: 'c', image: IMAGE, volumeMounts: [{ name: 'config', mountPath: '/etc/config' }] }],
      volumes: [{ name: 'config', configMap: { name: 'config' } }] });
    for (const p of (await client.list(PODS, 'bench-docker')).items) await client.delete(PODS, 'bench-docker', p.metadata.name!);
    // Stop the Docker kubelets once their pods are gone; cordon their nodes so hollow pods land elsewhere.
    for (let i = 0; i < 300 && (await client.list(PODS, 'bench-docker')).items.length; i++) await new Promise((r) => setTimeout(r, 100));
    for (const n of ['bench-pods-node-1', 'bench-pods-node-2']) await client.patch({ group: '', resource: 'nodes' }, undefined, n, { spec: { unschedulable: true } });

    log(`fake runtime: ${HOLLOW_NODES} hollow nodes in this process, ${HOLLOW_PODS} pods …`);
    const hollowStop = new AbortController();
    kubelets.push(hollowStop);
    await startHollowNodes(client, HOLLOW_NODES, dir, hollowStop.signal);
    await client.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: 'bench-hollow' } });
    const hollow = await podsToRunning(client, 'bench-hollow', HOLLOW_PODS, { containers: [{ name: 'c', image: 'fake/app:1' }] });
    const hollowRate = HOLLOW_PODS / (hollow.wallMs / 1000);

    const rawP50 = pct(raw, 50), podP50 = pct(dockerRun.latencies, 50);
    const f = (x: number) => x.toFixed(0).padStart(8);
    console.log(`\nkubemu pod start-up benchmark (${os.cpus().length} cores; etcd, apiserver, scheduler and Docker kubelets as their own processes)\n`);
    console.log('                                            p50 ms    p99 ms');
    console.log(`raw Docker create+start, ${DOCKER_PODS} at once         ${f(rawP50)}  ${f(pct(raw, 99))}`);
    console.log(`pods create → Running (docker), ${DOCKER_PODS} at once  ${f(podP50)}  ${f(pct(dockerRun.latencies, 99))}`);
    console.log(`  ratio p50 pods / raw Docker: ${(podP50 / rawP50).toFixed(2)} (target ≤ 1.5: ${podP50 / rawP50 <= 1.5 ? 'PASS' : 'MISS'})`);
    const rawInitP50 = pct(rawInit, 50), initP50 = pct(initRun.latencies, 50);
    const initRatio = initP50 / rawInitP50, plainRatio = podP50 / rawP50;
    console.log(`raw Docker init+app pair, ${DOCKER_PODS} at once         ${f(rawInitP50)}  ${f(pct(rawInit, 99))}`);
    console.log(`pods with init + configMap volume → Running     ${f(initP50)}  ${f(pct(initRun.latencies, 99))}`);
    console.log(`  ratio p50 init pods / raw pairs: ${initRatio.toFixed(2)} (target ≤ plain ratio + 10 % = ${(plainRatio * 1.1).toFixed(2)}: ${initRatio <= plainRatio * 1.1 ? 'PASS' : 'MISS'})`);
    console.log(`\nhollow nodes: ${HOLLOW_NODES}, pods: ${HOLLOW_PODS}, first create → last Running ${(hollow.wallMs / 1000).toFixed(1)} s = ${hollowRate.toFixed(0)} pods/s (target ≥ 300: ${hollowRate >= 300 ? 'PASS' : 'MISS'}); p50 ${pct(hollow.latencies, 50).toFixed(0)} ms, p99 ${pct(hollow.latencies, 99).toFixed(0)} ms`);
    console.log(JSON.stringify({
      bench: 'pods', dockerPods: DOCKER_PODS, rawDockerP50Ms: +rawP50.toFixed(1), rawDockerP99Ms: +pct(raw, 99).toFixed(1),
      podP50Ms: +podP50.toFixed(1), podP99Ms: +pct(dockerRun.latencies, 99).toFixed(1), podVsRawP50: +(podP50 / rawP50).toFixed(2),
      rawInitPairP50Ms: +pct(rawInit, 50).toFixed(1), initPodP50Ms: +pct(initRun.latencies, 50).toFixed(1), initPodP99Ms: +pct(initRun.latencies, 99).toFixed(1),
      initPodVsRawP50: +(pct(initRun.latencies, 50) / pct(rawInit, 50)).toFixed(2),
      hollowNodes: HOLLOW_NODES, hollowPods: HOLLOW_PODS, hollowWallSec: +(hollow.wallMs / 1000).toFixed(2), hollowPodsPerSec: +hollowRate.toFixed(1),
      hollowP50Ms: +pct(hollow.latencies, 50).toFixed(1), hollowP99Ms: +pct(hollow.latencies, 99).toFixed(1),
    }));
  } finally {
    for (const k of kubelets) k.abort();
    await client?.close();
    await stopAll(started);
    const engine = new DockerEngine({});
    for (const node of ['bench-pods-node-1', 'bench-pods-node-2']) {
      const filters = encodeURIComponent(JSON.stringify({ label: [`io.kubemu.node=${node}`] }));
      const list: Array<{ Id: string }> = await engine.json('GET', `/containers/json?all=true&filters=${filters}`).catch(() => []);
      for (const c of list) await engine.json('DELETE', `/containers/${c.Id}?force=true`, undefined, [404]).catch(() => {});
    }
    const nets: Array<{ Id: string; Name: string }> = await engine.json('GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: ['kubemu-bench-pods'] }))}`).catch(() => []);
    for (const n of nets.filter((x) => x.Name === 'kubemu-bench-pods')) await engine.json('DELETE', `/networks/${n.Id}`, undefined, [404]).catch(() => {});
    await engine.pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
