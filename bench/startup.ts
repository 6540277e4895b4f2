// npm run bench:startup — how fast a cluster comes up and goes away, and what it costs idle:
//   baselines: etcd alone to healthy; one Node process to exit, plain (as bundled components start) and with tsx;
//   1. `kubemu up --nodes 3` (the CLI, a child process) until it returns: every node Ready, ClusterIPs served;
//   2. peak and current RSS of every process of that cluster after 5 s idle;
//   3. Cluster.start({ nodes: 3 }) (the library) until it resolves, and stop() until it returns;
//   4. `docker-compose up -d` (docker-compose.yml, images already built) until it returns: every node Ready
//      (its last step checks that), confirmed with kubectl; null when neither docker compose nor docker-compose is installed.
// Targets (from the issues): up ≤ 3 s, Cluster.start ≤ 3 s, stop ≤ 2 s, idle control plane ≤ 300 MB.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../cluster/cluster.ts';
import { bundleDir } from '../launcher/bundle.ts';
import { readState } from '../launcher/state.ts';
import { startEtcd } from '../lib/etcd-process.ts';
import { freePort } from '../lib/free-port.ts';
import { composeCommand, composeProject, NO_COMPOSE } from '../test/harness/compose.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m: string) => process.stderr.write(`${m}\n`);
const secs = (t0: number) => (Date.now() - t0) / 1000;
const CONTROL_PLANE = new Set(['etcd', 'apiserver', 'scheduler', 'controller-manager', 'dns']);

/** VmHWM (peak) and VmRSS of a process, in MB. */
function rss(pid: number): { peakMB: number; rssMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
  return { peakMB: kb('VmHWM') / 1024, rssMB: kb('VmRSS') / 1024 };
}

async function main(): Promise<void> {
  log('building images (if needed) …');
  execFileSync('bash', [path.join(ROOT, 'scripts/build-images.sh')], { stdio: 'ignore' });

  log('baseline: etcd alone …');
  const etcdDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-etcd-'));
  let t0 = Date.now();
  const etcd = await startEtcd({ dataDir: path.join(etcdDir, 'data'), logFile: path.join(etcdDir, 'etcd.log'), clientPort: await freePort(), peerPort: await freePort() });
  const etcdSec = secs(t0);
  await etcd.stop();
  fs.rmSync(etcdDir, { recursive: true, force: true });

  log('baseline: one Node process, plain and with tsx …');
  t0 = Date.now();
  spawnSync(process.execPath, ['-e', '0'], { cwd: ROOT });
  const nodeProcSec = secs(t0);
  t0 = Date.now();
  spawnSync(process.execPath, ['--import', 'tsx', '-e', '0'], { cwd: ROOT });
  const tsxProcSec = secs(t0);
  // Components run from esbuild bundles (launcher/bundle.ts); build them now, so `up` below is a second run's.
  const bundles = bundleDir();
  log(bundles ? `components run from ${path.relative(ROOT, bundles)}` : 'components run through tsx (no bundle)');

  log('kubemu up --nodes 3 …');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-startup-'));
  const name = `bs${process.pid % 10000}`;
  const upArgs = ['up', '--dir', dir, '--name', name, '--nodes', '3', '--port', String(await freePort()), '--grpc-port', String(await freePort())];
  const kubemuUp = () => {
    const t = Date.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...upArgs], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubemu up failed:\n${r.stdout}\n${r.stderr}`);
    // `up` says how long the cluster PKI took: made (the first start) or checked (every later one).
    return { sec: secs(t), pkiMs: Number(/cluster PKI (?:made|checked) in \S+ \((\d+) ms\)/.exec(r.stdout)?.[1] ?? NaN) };
  };
  // The first start makes the cluster PKI; `down` keeps it; the second start only checks it.
  const first = kubemuUp();
  spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), 'down', '--dir', dir], { cwd: ROOT, stdio: 'ignore' });
  log('kubemu up --nodes 3 again (the PKI is kept) …');
  const later = kubemuUp();
  const upSec = later.sec;
  log('idle for 5 s, then reading every process\'s memory …');
  await new Promise((r) => setTimeout(r, 5000));
  const procs = readState(dir)!.components.map((c) => ({ name: c.name, ...rss(c.pid) }));
  spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), 'down', '--dir', dir, '--purge'], { cwd: ROOT, stdio: 'ignore' });
  const controlPlaneMB = procs.filter((p) => CONTROL_PLANE.has(p.name.replace(/-\d+$/, ''))).reduce((s, p) => s + p.rssMB, 0);
  const totalMB = procs.reduce((s, p) => s + p.rssMB, 0);

  log('Cluster.start({ nodes: 3 }) …');
  t0 = Date.now();
  const cluster = await Cluster.start({ nodes: 3 });
  const startSec = secs(t0);
  t0 = Date.now();
  await cluster.stop();
  const stopSec = secs(t0);

  log('docker compose up -d (images built first, not timed) …');
  const compose = await composeUp();

  const mark = (v: number, target: number) => (v <= target ? 'PASS' : 'MISS');
  console.log('\nstartup                                   seconds   target   ');
  console.log('------------------------------------------------------------');
  console.log(`baseline: etcd alone to healthy          ${etcdSec.toFixed(2).padStart(7)}`);
  console.log(`baseline: one node process (node -e 0)   ${nodeProcSec.toFixed(2).padStart(7)}`);
  console.log(`baseline: the same with tsx              ${tsxProcSec.toFixed(2).padStart(7)}`);
  console.log(`kubemu up, first start (PKI made, ${String(first.pkiMs).padStart(3)} ms) ${first.sec.toFixed(2).padStart(7)}   ≤ 3      ${mark(first.sec, 3)}`);
  console.log(`kubemu up --nodes 3 → all Ready (later, PKI checked ${String(later.pkiMs).padStart(3)} ms) ${upSec.toFixed(2).padStart(7)}   ≤ 3      ${mark(upSec, 3)}`);
  console.log(`Cluster.start({ nodes: 3 })              ${startSec.toFixed(2).padStart(7)}   ≤ 3      ${mark(startSec, 3)}`);
  console.log(`cluster.stop()                           ${stopSec.toFixed(2).padStart(7)}   ≤ 2      ${mark(stopSec, 2)}`);
  console.log(compose.sec === null ? `docker compose up → all Ready            (${compose.why})` : `docker compose up → all Ready            ${compose.sec.toFixed(2).padStart(7)}   ≤ 15     ${mark(compose.sec, 15)}`);
  console.log('\nidle process                 RSS MB   peak MB');
  console.log('----------------------------------------------');
  for (const p of procs) console.log(`${p.name.padEnd(28)} ${p.rssMB.toFixed(0).padStart(6)}   ${p.peakMB.toFixed(0).padStart(7)}`);
  console.log(`control plane (etcd, apiserver, scheduler, controller manager, dns): ${controlPlaneMB.toFixed(0)} MB (target ≤ 300: ${mark(controlPlaneMB, 300)}); all processes: ${totalMB.toFixed(0)} MB`);
  console.log(JSON.stringify({
    bench: 'startup', cores: os.cpus().length,
    baseline: { etcdSec, nodeProcessSec: nodeProcSec, tsxProcessSec: tsxProcSec }, bundled: Boolean(bundles),
    kubemuUpSec: upSec, kubemuFirstUpSec: first.sec, pkiMadeMs: first.pkiMs, pkiCheckedMs: later.pkiMs, clusterStartSec: startSec, clusterStopSec: stopSec, composeUpSec: compose.sec,
    idle: { processes: procs, controlPlaneMB, totalMB },
    ratios: { upVsOneNodeProcess: upSec / nodeProcSec },
    targets: { upSec: 3, firstUpSec: 3, clusterStartSec: 3, clusterStopSec: 2, composeUpSec: 15, controlPlaneMB: 300 },
    pass: { up: upSec <= 3, firstUp: first.sec <= 3, clusterStart: startSec <= 3, clusterStop: stopSec <= 2, composeUp: compose.sec !== null && compose.sec <= 15, controlPlane: controlPlaneMB <= 300 },
  }));
}

/** Seconds from `docker-compose up -d` to its return (every node Ready), then the cluster goes away again. */
async function composeUp(): Promise<{ sec: number | null; why?: string }> {
  if (!composeCommand()) return { sec: null, why: NO_COMPOSE };
  execFileSync('bash', [path.join(ROOT, 'scripts/build-compose-images.sh')], { stdio: 'ignore' });
  const p = await composeProject(`kubemu-bench-${process.pid}`);
  try {
    const t0 = Date.now();
    const up = p.dc(['up', '-d']);
    const sec = secs(t0);
    if (up.status !== 0) throw new Error(`docker-compose up -d failed:\n${up.out}`);
    const nodes = execFileSync('kubectl', ['--kubeconfig', p.kubeconfig, 'get', 'nodes', '--no-headers'], { encoding: 'utf8' });
    const ready = nodes.trim().split('\n').filter((l) => / Ready /.test(l)).length;
    if (ready !== 3) throw new Error(`up -d returned with ${ready} of 3 nodes Ready:\n${nodes}`);
    return { sec };
  } finally {
    p.dc(['down', '-v']);
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
