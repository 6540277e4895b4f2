// Start and stop a real etcd (the system binary) with its own data dir and free ports.
// Used by `kubemu up`, the test harness and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port.ts';

export interface EtcdProcess {
  /** e.g. http://127.0.0.1:23791 */
  endpoint: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  dataDir: string;
  clientPort?: number;
  peerPort?: number;
  /** Where etcd's own output goes; default: <dataDir>/../etcd.log */
  logFile?: string;
  /** Extra flags, e.g. ['--auto-compaction-retention=1']. */
  extraArgs?: string[];
  /** Keep running after this Node process exits (kubemu up). */
  detached?: boolean;
}

export function etcdBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, 'etcd');
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export const ETCD_MISSING = 'etcd is not installed. On Debian/Ubuntu: apt-get update && apt-get install -y etcd-server ' +
  '(elsewhere: install etcd 3.4+ so that `etcd` is on PATH).';

/** The command line of a one-member etcd on loopback with these ports (kubemu up runs it through its supervisor). */
export function etcdArgv(opts: { dataDir: string; clientPort: number; peerPort: number; extraArgs?: string[] }): { argv: string[]; endpoint: string } {
  const bin = etcdBinary();
  if (!bin) throw new Error(ETCD_MISSING);
  const endpoint = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  return {
    endpoint,
    argv: [bin,
      '--name', 'default',
      '--data-dir', opts.dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`,
      '--log-level', 'warn',
      // One member on loopback: nobody to lose an election to and no network to wait for, so elect at
      // once (about 0.1 s to healthy instead of about 0.55 s with the default 100 ms / 1000 ms).
      '--heartbeat-interval', '10', '--election-timeout', '100',
      // No browser may talk to etcd: its default CORS answer is `*`, and `--cors` cannot be empty, so allow
      // only an origin no page can have (.invalid never resolves). Foreign Host headers (DNS rebinding) get 421.
      '--cors', 'http://cors-disabled.invalid:1', '--host-whitelist', '127.0.0.1,localhost',
      ...(opts.extraArgs ?? []),
    ],
  };
}

export async function startEtcd(opts: EtcdOptions): Promise<EtcdProcess> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const clientPort = opts.clientPort ?? await freePort();
  const peerPort = opts.peerPort ?? await freePort();
  const { argv, endpoint } = etcdArgv({ dataDir: opts.dataDir, clientPort, peerPort, extraArgs: opts.extraArgs });
  const logFile = opts.logFile ?? path.join(path.dirname(opts.dataDir), `etcd-${clientPort}.log`);
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached: opts.detached ?? false });
  fs.closeSync(out);
  if (opts.detached) child.unref();
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  await waitForHealth(endpoint, () => exited, logFile);
  return {
    endpoint,
    dataDir: opts.dataDir,
    pid: child.pid!,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

async function waitForHealth(endpoint: string, hasExited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`etcd exited during start-up; see ${logFile}:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`etcd at ${endpoint} did not become healthy within 20 s; see ${logFile}`);
}

function tail(file: string): string {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-10).join('\n'); } catch { return ''; }
}
