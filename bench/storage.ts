// npm run bench:storage — what a provisioned claim costs a pod's start, from one `kubemu up` cluster (2 Docker nodes):
// 30 pods created at once, each with an emptyDir, then 30 pods each with its own claim on the default class
// `standard` (WaitForFirstConsumer: schedule, select the node on the claim, provision, bind, mount), create → Running
// p50/p99 of each. Target: the claim run's p50 within 1.3× of the emptyDir run's. Prints a table, then one JSON line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import { readState } from '../launcher/state.ts';
import { adminTls } from '../launcher/pki.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { freePort } from '../lib/free-port.ts';
import { ROOT } from '../lib/root.ts';

const PODS = { group: '', resource: 'pods' };
const PVCS = { group: '', resource: 'persistentvolumeclaims' };
const NAMESPACES = { group: '', resource: 'namespaces' };
const N = Number(process.env.BENCH_STORAGE_PODS ?? 30);
const IMAGE = 'kubemu/hello:1';

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const log = (m: string) => process.stderr.write(`${m}\n`);
const kubemu = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });

/** Create `n` pods (and, with claims, their claims first) at once; each pod's create → Running latency (ms). */
async function run(client: ApiClient, ns: string, withClaims: boolean): Promise<number[]> {
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const list = await client.list(PODS, ns);
  const w = await client.watch(PODS, ns, { resourceVersion: list.metadata.resourceVersion });
  const done = (async () => {
    for await (const ev of w) {
      const p = ev.object as KubeObject;
      if (p.status?.phase === 'Running' && !running.has(p.metadata.name!)) { running.set(p.metadata.name!, performance.now()); if (running.size === N) break; }
    }
  })();
  await Promise.all(Array.from({ length: N }, async (_, i) => {
    const name = `p${i}`;
    created.set(name, performance.now());
    const volume = withClaims ? { name: 'data', persistentVolumeClaim: { claimName: name } } : { name: 'data', emptyDir: {} };
    if (withClaims) await client.create(PVCS, ns, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } } });
    await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [volume] } });
  }));
  const progress = setInterval(() => log(`  ${ns}: ${running.size}/${N} Running`), 5000);
  try {
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${running.size}/${N} pods Running after 240 s`)), 240_000))]);
  } finally { clearInterval(progress); w.close(); }
  return [...created.keys()].map((k) => running.get(k)! - created.get(k)!);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-storage-'));
  log(`kubemu up in ${dir} …`);
  const up = kubemu(['up', '--dir', dir, '--name', `bst${process.pid % 10000}`, '--nodes', '2', '--port', String(await freePort()), '--grpc-port', String(await freePort()), '--dns-upstream', 'none']);
  if (up.status !== 0) { kubemu(['down', '--dir', dir, '--purge']); throw new Error(`kubemu up failed:\n${up.stdout}\n${up.stderr}`); }
  const client = createApiClient({ transport: 'http', server: readState(dir)!.apiserver, tls: adminTls(dir) });
  try {
    log('emptyDir pods …');
    const empty = await run(client, 'bench-emptydir', false);
    log('pods with their own provisioned claim …');
    const claims = await run(client, 'bench-claims', true);
    const row = (name: string, xs: number[]) => `${name.padEnd(22)} ${String(Math.round(pct(xs, 50))).padStart(7)} ${String(Math.round(pct(xs, 99))).padStart(7)}`;
    console.log(`${'30 pods, each with'.padEnd(22)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}`);
    console.log(row('an emptyDir', empty));
    console.log(row('its own claim', claims));
    const ratio = pct(claims, 50) / pct(empty, 50);
    console.log(`ratio p50 ${ratio.toFixed(2)}× (target ≤ 1.3×)`);
    console.log(JSON.stringify({ bench: 'storage', pods: N, emptyDirP50: pct(empty, 50), emptyDirP99: pct(empty, 99), claimP50: pct(claims, 50), claimP99: pct(claims, 99), ratio }));
  } finally {
    await client.close();
    const down = kubemu(['down', '--dir', dir, '--purge']);
    fs.rmSync(dir, { recursive: true, force: true });
    if (down.status !== 0) log(down.stderr);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
