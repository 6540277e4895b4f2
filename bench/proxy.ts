// npm run bench:proxy — Service traffic through kube-proxy vs straight to the pod, for both proxy modes.
// For each mode (userspace, iptables) one `kubemu up` cluster with one node and two pods, each behind its own
// ClusterIP Service (80 → 8080):
//   echo  — kubemu/echo:1, node:http with keep-alive: runs with keep-alive and with `Connection: close`;
//   hello — kubemu/hello:1, busybox httpd, closes every connection: runs without keep-alive only.
// wrk (-t2, 5 s, --latency) at 16 and 64 connections, straight to the pod IP (the baseline, same run) and to the
// ClusterIP. Targets: proxied ≥ 0.80× direct req/s and ≤ 1 ms added p50. p99 is judged against the keep-alive backend
// only: busybox httpd's small backlog gives ~1 s SYN-retry outliers (MEASURED.md).
// A run without keep-alive leaves thousands of TIME_WAIT sockets to the ip:port it hit, which slows the next run to
// it ~10× (connect port selection, MEASURED.md). So the keep-alive runs use pod :8080 / Service :80 and every side of
// every run without keep-alive gets a pod port (a container of the pod) and a Service port of its own; runs pause
// 3 s between each other, alternate between the two pods, and direct/proxied take turns going first. Each run records
// the host's TIME_WAIT sockets before it, and those to its own target before and after.
// Prints a table, then one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { freePort } from '../lib/free-port.ts';
import { until } from '../test/harness/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODES = (process.env.BENCH_PROXY_MODES ?? 'userspace,iptables').split(',').filter(Boolean);
const DURATION_S = Number(process.env.BENCH_PROXY_SECONDS ?? 5);
const PAUSE_MS = Number(process.env.BENCH_PROXY_PAUSE_MS ?? 3000);
const CONNECTIONS = [16, 64];
const THREADS = 2;
const TARGET = { minRatio: 0.8, maxAddedP50Ms: 1 };
const log = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Backend = 'echo' | 'hello';
interface Case { backend: Backend; keepAlive: boolean; connections: number }
interface Target { podIP: string; clusterIP: string }
interface SocketErrors { connect: number; read: number; write: number; timeout: number }
interface WrkResult { rps: number; p50Ms: number; p99Ms: number; requests: number; errors: SocketErrors; non2xx: number; timeWaitBefore: number; timeWaitToTargetBefore: number; timeWaitToTargetAfter: number }
interface Row extends Case { mode: string; direct: WrkResult; proxied: WrkResult }

/** Where one side of a run sends its traffic: the pod port (direct) and the Service port in front of it (proxied). */
interface Side { svcPort: number; podPort: number }
interface Run { c: Case; proxiedFirst: boolean; direct: Side; proxied: Side }

/** The runs of one mode, in order: keep-alive first (few sockets, to pod :8080 and Service :80), then the runs without
 *  keep-alive alternating between the two pods. Each of those sides gets a port of its own on the pod (a container
 *  per port) and on the Service, so no run starts among another run's TIME_WAIT sockets to the same ip:port (the
 *  userspace proxy dials the pod port from this host too), and modes use different pod ports in case the second
 *  cluster's Docker network hands out the same pod IPs. Direct/proxied take turns going first. */
export function schedule(modeIndex: number): Run[] {
  const runs: Run[] = [];
  const base: Side = { svcPort: 80, podPort: 8080 };
  const nextSvc: Record<Backend, number> = { echo: 81, hello: 81 };
  let nextPod = 8081 + 20 * modeIndex;
  const fresh = (b: Backend): Side => ({ svcPort: nextSvc[b]++, podPort: nextPod++ });
  let proxiedFirst = false;
  for (const connections of CONNECTIONS) {
    runs.push({ c: { backend: 'echo', keepAlive: true, connections }, proxiedFirst, direct: base, proxied: base });
    proxiedFirst = !proxiedFirst;
  }
  // Direct goes first for echo at 16 and hello at 64 connections, proxied for the other two: each backend gets both orders.
  for (const [ci, connections] of CONNECTIONS.entries()) {
    for (const [bi, backend] of (['echo', 'hello'] as const).entries()) {
      runs.push({ c: { backend, keepAlive: false, connections }, proxiedFirst: (ci + bi) % 2 === 1, direct: fresh(backend), proxied: fresh(backend) });
    }
  }
  return runs;
}

/** One pod per backend with a container per port (8080 has the readiness probe), one ClusterIP Service per backend. */
export function manifest(runs: Run[]): string {
  const docs: unknown[] = [];
  for (const [backend, image, probePath] of [['echo', 'kubemu/echo:1', '/'], ['hello', 'kubemu/hello:1', '/cgi-bin/healthz']] as const) {
    const sides = new Map<number, Side>([[8080, { svcPort: 80, podPort: 8080 }]]);
    for (const r of runs.filter((x) => x.c.backend === backend)) for (const s of [r.direct, r.proxied]) sides.set(s.podPort, s);
    const ports = [...sides.values()];
    docs.push({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: backend, labels: { app: backend } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: ports.map(({ podPort }) => ({
          name: podPort === 8080 ? backend : `${backend}-${podPort}`, image, env: [{ name: 'PORT', value: String(podPort) }], ports: [{ containerPort: podPort }],
          ...(podPort === 8080 ? { readinessProbe: { httpGet: { path: probePath, port: 8080 }, periodSeconds: 1 } } : {}),
        })),
      },
    }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: backend },
      spec: { selector: { app: backend }, ports: ports.map((p) => ({ name: `p${p.svcPort}`, port: p.svcPort, targetPort: p.podPort })) },
    });
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs });
}

/** wrk on PATH; as root install Debian's package, otherwise say what to install. */
function ensureWrk(): void {
  if (spawnSync('wrk', ['-v']).error === undefined) return;
  if (process.getuid?.() !== 0) {
    log('bench:proxy needs wrk (an HTTP load generator). Install it: sudo apt-get install -y wrk  (Debian/Ubuntu package "wrk")');
    process.exit(1);
  }
  log('wrk missing: apt-get install -y wrk …');
  const r = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || spawnSync('wrk', ['-v']).error !== undefined) {
    log('could not install wrk with apt-get install -y wrk (try apt-get update first)');
    process.exit(1);
  }
}

/** wrk's duration text (612.00us, 1.23ms, 2.00s, 1.00m) in ms. */
export function durationMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) throw new Error(`not a wrk duration: ${s}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

export function parseWrk(out: string): Omit<WrkResult, 'timeWaitBefore' | 'timeWaitToTargetBefore' | 'timeWaitToTargetAfter'> {
  const num = (re: RegExp) => { const m = re.exec(out); return m ? Number(m[1]) : NaN; };
  const pct = (p: number) => { const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out); return m ? durationMs(m[1]) : NaN; };
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const r = {
    rps: num(/Requests\/sec:\s+([\d.]+)/), p50Ms: pct(50), p99Ms: pct(99), requests: num(/(\d+) requests in/),
    errors: { connect: Number(errs?.[1] ?? 0), read: Number(errs?.[2] ?? 0), write: Number(errs?.[3] ?? 0), timeout: Number(errs?.[4] ?? 0) }, non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
  };
  if (Number.isNaN(r.rps) || Number.isNaN(r.p50Ms)) throw new Error(`could not parse wrk's output:\n${out}`);
  return r;
}

/** TIME_WAIT sockets in this host's network namespace: all of them (the kernel's count), or those to one of `dsts` (ip:port). */
function timeWait(dsts?: string[]): number {
  try {
    if (!dsts) return Number(/^TCP:.* tw (\d+)/m.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? -1);
    const filter = ['(', ...dsts.flatMap((d, i) => [...(i ? ['or'] : []), 'dst', d]), ')'];
    return execFileSync('ss', ['-Htan', 'state', 'time-wait', ...filter], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean).length;
  } catch {
    return -1;
  }
}

async function wrk(url: string, c: Case, seconds: number, dsts: string[] = []): Promise<WrkResult> {
  const timeWaitBefore = timeWait();
  const timeWaitToTargetBefore = dsts.length ? timeWait(dsts) : 0;
  const args = [`-t${THREADS}`, `-c${c.connections}`, `-d${seconds}s`, '--latency', ...(c.keepAlive ? [] : ['-H', 'Connection: close']), url];
  const r = await execa('wrk', args, { reject: false, timeout: (seconds + 30) * 1000 });
  if (r.exitCode !== 0) throw new Error(`wrk ${args.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return { ...parseWrk(r.stdout), timeWaitBefore, timeWaitToTargetBefore, timeWaitToTargetAfter: dsts.length ? timeWait(dsts) : 0 };
}

/** One GET on a new connection. */
function getOnce(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2000, headers: { Connection: 'close' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', reject);
  });
}


/** The cluster up at the moment, taken down on Ctrl-C too. */
let current: string | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    if (current) spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), 'down', '--dir', current, '--purge'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    process.exit(130);
  });
}

async function benchMode(mode: string, modeIndex: number, rows: Row[], upSec: Record<string, number>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kubemu-bench-proxy-${mode}-`));
  current = dir;
  const kubemu = (args: string[]) => execa(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, reject: false, all: true, timeout: 240_000 });
  const kubectl = async (args: string[], input?: string) => {
    const r = await execa('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], { input, reject: false, all: true, env: { HOME: dir }, timeout: 180_000 });
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.exitCode}):\n${r.all}`);
    return r.stdout;
  };
  try {
    const name = `pb${mode[0]}${process.pid % 1000}`;
    log(`[${mode}] kubemu up --name ${name} --proxy-mode ${mode} …`);
    const t0 = performance.now();
    const up = await kubemu(['up', '--dir', dir, '--name', name, '--nodes', '1', '--proxy-mode', mode, '--port', String(await freePort()), '--grpc-port', String(await freePort()), '--log-level', 'warn']);
    if (up.exitCode !== 0) throw new Error(`kubemu up --proxy-mode ${mode} failed (${up.exitCode}):\n${up.all}`);
    upSec[mode] = +((performance.now() - t0) / 1000).toFixed(1);

    const runs = schedule(modeIndex);
    await kubectl(['apply', '-f', '-'], manifest(runs));
    await kubectl(['wait', '--for=condition=Ready', 'pod/echo', 'pod/hello', '--timeout=120s']);
    const targets = {} as Record<Backend, Target>;
    for (const b of ['echo', 'hello'] as const) {
      const podIP = (await kubectl(['get', 'pod', b, '-o', 'jsonpath={.status.podIP}'])).trim();
      const clusterIP = (await kubectl(['get', 'svc', b, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
      if (!podIP || !clusterIP || clusterIP === 'None') throw new Error(`${b}: no pod IP (${podIP}) or ClusterIP (${clusterIP})`);
      targets[b] = { podIP, clusterIP };
      const sides = runs.filter((r) => r.c.backend === b).flatMap((r) => [r.direct, r.proxied]);
      for (const s of new Map(sides.map((x) => [x.podPort, x])).values()) {
        await until(`${b} at ${podIP}:${s.podPort}`, async () => (await getOnce(`http://${podIP}:${s.podPort}/`)) === 200);
        await until(`${b} at its ClusterIP ${clusterIP}:${s.svcPort}`, async () => (await getOnce(`http://${clusterIP}:${s.svcPort}/`)) === 200);
      }
      log(`[${mode}] ${b}: pod ${podIP}, ClusterIP ${clusterIP}; ports ${[...new Set(sides.map((x) => `${x.svcPort}→${x.podPort}`))].join(' ')}`);
    }
    // Warm up (not measured): the JIT of every echo server and of the userspace proxy. Keep-alive, so hardly any sockets.
    for (const s of new Set(runs.filter((r) => r.c.backend === 'echo').flatMap((r) => [r.direct, r.proxied]))) {
      await wrk(`http://${targets.echo.podIP}:${s.podPort}/`, { backend: 'echo', keepAlive: true, connections: 4 }, 1);
    }
    await wrk(`http://${targets.echo.clusterIP}:80/`, { backend: 'echo', keepAlive: true, connections: 16 }, 2);

    for (const { c, proxiedFirst, direct, proxied } of runs) {
      const t = targets[c.backend];
      const order = proxiedFirst ? (['proxied', 'direct'] as const) : (['direct', 'proxied'] as const);
      const got: Partial<Record<'direct' | 'proxied', WrkResult>> = {};
      for (const side of order) {
        await sleep(PAUSE_MS);
        // The proxied side's sockets: to the ClusterIP port, and (userspace proxy, iptables conntrack) to the pod port.
        const dsts = side === 'direct' ? [`${t.podIP}:${direct.podPort}`] : [`${t.clusterIP}:${proxied.svcPort}`, `${t.podIP}:${proxied.podPort}`];
        got[side] = await wrk(`http://${dsts[0]}/`, c, DURATION_S, dsts);
        const g = got[side]!;
        log(`[${mode}] ${c.backend} ${c.keepAlive ? 'keep-alive' : 'close'} c${c.connections} ${side.padEnd(7)} ${dsts[0].padEnd(20)} ${g.rps.toFixed(0).padStart(6)} req/s  ` +
          `p50 ${g.p50Ms.toFixed(2)} ms  p99 ${g.p99Ms.toFixed(2)} ms  (TIME_WAIT: ${g.timeWaitBefore} before; to this target ${g.timeWaitToTargetBefore} before, ${g.timeWaitToTargetAfter} after)`);
      }
      rows.push({ mode, ...c, direct: got.direct!, proxied: got.proxied! });
    }
  } finally {
    const down = await kubemu(['down', '--dir', dir, '--purge']);
    if (down.exitCode !== 0) log(`[${mode}] kubemu down failed (${down.exitCode}):\n${down.all}`);
    fs.rmSync(dir, { recursive: true, force: true });
    current = undefined;
  }
}

const ratio = (r: Row) => r.proxied.rps / r.direct.rps;
const addedP50 = (r: Row) => r.proxied.p50Ms - r.direct.p50Ms;
const addedP99 = (r: Row) => r.proxied.p99Ms - r.direct.p99Ms;
const p99Judged = (r: Row) => r.backend === 'echo';
function verdict(r: Row): { pass: boolean; text: string } {
  const miss = [ratio(r) < TARGET.minRatio && 'req/s', addedP50(r) > TARGET.maxAddedP50Ms && 'p50'].filter(Boolean);
  return { pass: miss.length === 0, text: miss.length ? `MISS (${miss.join(', ')})` : 'PASS' };
}

function printTable(rows: Row[]): void {
  const cols: [string, number][] = [['mode', 9], ['backend', 7], ['keep-alive', 10], ['conns', 5], ['direct req/s', 12], ['proxied req/s', 13], ['ratio', 5],
    ['direct p50', 10], ['proxied p50', 11], ['added p50', 9], ['direct p99', 12], ['proxied p99', 13], ['target', 17]];
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i < 4 ? c.padEnd(cols[i][1]) : c.padStart(cols[i][1]))).join('  '));
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  console.log(`\nkubemu proxy benchmark (${os.cpus().length} cores; wrk -t${THREADS} -d${DURATION_S}s; one node; direct = pod IP, proxied = ClusterIP;\n keep-alive runs on pod :8080 / Service :80, every run without keep-alive on a port of its own)\n`);
  line(cols.map(([h]) => h));
  console.log('-'.repeat(cols.reduce((a, [, w]) => a + w + 2, -2)));
  for (const r of rows) {
    // busybox httpd's p99 is SYN-retry noise: shown in brackets, not judged.
    const p99 = (x: number) => (p99Judged(r) ? ms(x) : `(${ms(x)})`);
    line([r.mode, r.backend, r.keepAlive ? 'yes' : 'no', String(r.connections), r.direct.rps.toFixed(0), r.proxied.rps.toFixed(0), ratio(r).toFixed(2),
      ms(r.direct.p50Ms), ms(r.proxied.p50Ms), addedP50(r).toFixed(2), p99(r.direct.p99Ms), p99(r.proxied.p99Ms), verdict(r).text]);
  }
  // busybox httpd's CGI replies end at the close (no Content-Length): wrk counts that EOF as a read error on every
  // request it completes, so read errors are only worth a note for echo.
  const real = (r: Row, w: WrkResult) => w.errors.connect + w.errors.write + w.errors.timeout + (r.backend === 'echo' ? w.errors.read : 0) + w.non2xx;
  const e = (w: WrkResult) => `connect ${w.errors.connect}, read ${w.errors.read}, write ${w.errors.write}, timeout ${w.errors.timeout}, non-2xx ${w.non2xx}`;
  for (const r of rows.filter((x) => real(x, x.direct) + real(x, x.proxied) > 0)) {
    console.log(`note: ${r.mode} ${r.backend} ${r.keepAlive ? 'keep-alive' : 'close'} c${r.connections}: direct ${e(r.direct)}; proxied ${e(r.proxied)}`);
  }
  const passed = rows.filter((r) => verdict(r).pass).length;
  console.log(`\ntargets: proxied ≥ ${TARGET.minRatio.toFixed(2)}× direct req/s and added p50 ≤ ${TARGET.maxAddedP50Ms} ms — ${passed}/${rows.length} rows PASS` +
    `; p99 judged on the keep-alive backend (echo) only`);
  for (const mode of new Set(rows.map((r) => r.mode))) {
    const ka = rows.filter((r) => r.mode === mode && p99Judged(r));
    console.log(`  ${mode}: echo added p99 ${ka.map((r) => `${r.keepAlive ? 'ka' : 'close'}/c${r.connections} ${addedP99(r).toFixed(2)} ms`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  ensureWrk();
  const rows: Row[] = [];
  const upSec: Record<string, number> = {};
  const t0 = performance.now();
  for (const [i, mode] of MODES.entries()) await benchMode(mode, i, rows, upSec);
  printTable(rows);
  const round = (x: number, d = 2) => +x.toFixed(d);
  const side = (w: WrkResult) => ({ rps: round(w.rps, 1), p50Ms: round(w.p50Ms, 3), p99Ms: round(w.p99Ms, 3), requests: w.requests,
    errors: w.errors, non2xx: w.non2xx, timeWaitBefore: w.timeWaitBefore, timeWaitToTargetBefore: w.timeWaitToTargetBefore,
    timeWaitToTargetAfter: w.timeWaitToTargetAfter });
  console.log(JSON.stringify({
    bench: 'proxy', cores: os.cpus().length, wrk: { threads: THREADS, durationSec: DURATION_S, pauseMs: PAUSE_MS }, targets: TARGET, clusterUpSec: upSec,
    rows: rows.map((r) => ({
      mode: r.mode, backend: r.backend, keepAlive: r.keepAlive, connections: r.connections, direct: side(r.direct), proxied: side(r.proxied),
      ratio: round(ratio(r), 3), addedP50Ms: round(addedP50(r), 3), addedP99Ms: round(addedP99(r), 3), p99Judged: p99Judged(r), pass: verdict(r).pass,
    })),
    passed: rows.filter((r) => verdict(r).pass).length, total: rows.length, pass: rows.every((r) => verdict(r).pass), wallSec: round((performance.now() - t0) / 1000, 1),
  }));
}

main().then(() => process.exit(0), (err) => { console.error(err instanceof Error ? err.message : err); process.exit(1); });
