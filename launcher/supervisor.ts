// The supervisor of a cluster's component processes: the parent of every component `kubemu up` starts,
// so it learns at once when one exits and how. A component that exits without being asked to (a crash,
// kill -9, a scheduler giving up on its lost leader lease) is started again with the same command line,
// after a back-off that doubles from 1 s to 30 s and resets once it has run for 60 s: the kubelet's
// CrashLoopBackOff, shorter, because a control plane should come back fast. Holding a component
// (`kubemu kill --no-restart`, `stop-node`) keeps it down until it is started again. The process around
// this class is supervisor-main.ts; this file has no I/O of its own beyond the children and their logs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from '../lib/logger.ts';
import { isAlive, type ExitInfo, type SupervisedStatus } from './state.ts';

export interface BackOff { initialMs: number; maxMs: number; resetAfterMs: number }
export const DEFAULT_BACKOFF: BackOff = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before the next start: the first, or after a run of resetAfterMs, initialMs; else double the last, capped. */
export function nextBackoff(lastMs: number | undefined, ranMs: number, b: BackOff): number {
  if (lastMs === undefined || ranMs >= b.resetAfterMs) return b.initialMs;
  return Math.min(lastMs * 2, b.maxMs);
}

export interface ComponentSpec {
  name: string;
  argv: string[];
  /** Its output goes here (appended), and the supervisor's lines about it. */
  log: string;
  /** The node it belongs to (kubelets, kube-proxies): its Event is about that Node. */
  node?: string;
}

export interface RestartInfo { spec: ComponentSpec; oldPid: number; pid: number; exit: ExitInfo; backoffMs: number; restarts: number }

export interface SupervisorOptions {
  logger: Logger;
  backoff?: BackOff;
  /** Where the components run (kubemu's root: their relative paths). */
  cwd?: string;
  /** After every change of status (supervisor.json is written from it). */
  onChange?: () => void;
  /** After each restart following an unexpected exit (the Event). */
  onRestart?: (r: RestartInfo) => void;
  /** Right after a component process is started, before anything else runs (a partitioned node's cgroup). */
  onSpawn?: (spec: ComponentSpec, pid: number) => void;
}

interface Entry {
  spec: ComponentSpec;
  child?: ChildProcess;
  pid: number;
  held: boolean;
  restarts: number;
  startedAt: number;
  lastExit?: ExitInfo;
  backoffMs?: number;
  nextStartAt?: number;
  timer?: NodeJS.Timeout;
  /** Set while restart() stops it: that exit is asked for, not a crash. */
  expectExit?: boolean;
}

export const describeExit = (e: { code: number | null; signal: string | null }) => (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`);

/** Signals the process group (components are started as group leaders), else the process. */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* already gone */ } }
}

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly backoff: BackOff;
  private closed = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    const { initialMs, maxMs, resetAfterMs } = this.backoff;
    if (!(initialMs > 0 && maxMs >= initialMs && resetAfterMs > 0)) throw new Error(`back-off: want 0 < initialMs <= maxMs and resetAfterMs > 0, got ${JSON.stringify(this.backoff)}`);
  }

  /** Starts a new component (or one of that name that is not running, with this command line); returns its pid. */
  launch(spec: ComponentSpec): number {
    if (this.closed) throw new Error('the supervisor is shutting down');
    const old = this.entries.get(spec.name);
    if (old?.child) throw new Error(`${spec.name} is already running (pid ${old.pid})`);
    if (old?.timer) clearTimeout(old.timer);
    const e: Entry = { spec, pid: 0, held: false, restarts: old?.restarts ?? 0, startedAt: 0 };
    this.entries.set(spec.name, e);
    this.spawn(e);
    return e.pid;
  }

  /** From now on the component is not restarted when it exits (a pending restart is cancelled). */
  hold(name: string): void {
    const e = this.entry(name);
    e.held = true;
    this.cancelRestart(e);
    this.changed();
  }

  /** Releases a hold and starts the component now if it is not running (back-off reset); returns its pid. */
  async start(name: string): Promise<number> {
    const e = this.entry(name);
    await this.settled(e);
    e.held = false;
    this.cancelRestart(e);
    if (!e.child) {
      e.backoffMs = undefined;
      this.spawn(e);
    } else this.changed();
    return e.pid;
  }

  /** Stops the component if it runs (SIGTERM, SIGKILL after graceMs) and starts it again at once; returns the new pid. */
  async restart(name: string, graceMs = 5000): Promise<number> {
    const e = this.entry(name);
    await this.settled(e);
    e.held = false;
    this.cancelRestart(e);
    const child = e.child;
    if (child) {
      e.expectExit = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalGroup(e.pid, 'SIGTERM');
      const kill = setTimeout(() => signalGroup(e.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    }
    if (this.closed) throw new Error('the supervisor is shutting down');
    e.backoffMs = undefined;
    this.spawn(e);
    return e.pid;
  }

  status(): Record<string, SupervisedStatus & { pid: number }> {
    const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, {
      pid: e.pid, state: e.child ? 'running' : e.held ? 'held' : 'backoff', restarts: e.restarts, startedAt: new Date(e.startedAt).toISOString(),
      ...(e.lastExit ? { lastExit: e.lastExit } : {}), ...(e.backoffMs !== undefined ? { backoffMs: e.backoffMs } : {}),
      ...(e.timer ? { nextStartAt: iso(e.nextStartAt) } : {}),
    } satisfies SupervisedStatus & { pid: number }]));
  }

  /** Stops supervising: no restart from now on. The components keep running (`kubemu down` stops them next). */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) this.cancelRestart(e);
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw Object.assign(new Error(`no component "${name}" is supervised; components: ${[...this.entries.keys()].join(', ')}`), { code: 'NotFound' });
    return e;
  }

  /**
   * A child killed a moment ago by someone else (kubemu kill) can be dead, a zombie, before its exit reaches
   * this process: wait for that exit, so it is not taken for running.
   */
  private async settled(e: Entry): Promise<void> {
    const child = e.child;
    if (!child || isAlive(e.pid)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
    });
  }

  private cancelRestart(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    e.nextStartAt = undefined;
  }

  private changed(): void {
    try { this.opts.onChange?.(); } catch (err) { this.opts.logger.error({ err: String(err) }, 'could not record the supervisor status'); }
  }

  /** A line in the component's own log (pino's shape), so its log tells why it started again. */
  private note(e: Entry, level: number, msg: string): void {
    try {
      fs.appendFileSync(e.spec.log, `${JSON.stringify({ level, time: Date.now(), component: 'supervisor', msg })}\n`);
    } catch (err) {
      this.opts.logger.warn({ target: e.spec.name, err: String(err) }, 'could not write to the component log');
    }
  }

  private spawn(e: Entry): void {
    this.cancelRestart(e); // one process per component, whoever asks
    const [cmd, ...args] = e.spec.argv;
    // A log that cannot be opened (its directory removed) must not take the supervisor down: run it without one.
    let out: number | 'ignore' = 'ignore';
    try { out = fs.openSync(e.spec.log, 'a'); } catch (err) { this.opts.logger.error({ target: e.spec.name, err: String(err) }, 'cannot open its log; starting it without'); }
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: this.opts.cwd, detached: true, stdio: ['ignore', out, out] });
    } finally {
      if (typeof out === 'number') fs.closeSync(out);
    }
    child.unref();
    e.child = child;
    e.startedAt = Date.now();
    // A command that cannot be run at all (ENOENT) has no pid and never exits: handled as an exit, restarted with back-off.
    child.once('error', (err) => {
      this.opts.logger.error({ target: e.spec.name, err: String(err) }, 'could not start');
      if (!child.pid) this.exited(e, child, null, null);
    });
    child.once('exit', (code, signal) => this.exited(e, child, code, signal));
    e.pid = child.pid ?? 0;
    if (child.pid) {
      try { this.opts.onSpawn?.(e.spec, child.pid); } catch (err) { this.opts.logger.error({ target: e.spec.name, err: String(err) }, 'after start'); }
    }
    this.opts.logger.info({ target: e.spec.name, pid: e.pid }, 'started');
    this.changed();
  }

  private exited(e: Entry, child: ChildProcess, code: number | null, signal: string | null): void {
    if (e.child !== child) return; // a process it no longer tracks
    e.child = undefined;
    const exit: ExitInfo = { code, signal, at: new Date().toISOString() };
    e.lastExit = exit;
    const ranMs = Date.now() - e.startedAt;
    const how = `${describeExit(exit)} after ${(ranMs / 1000).toFixed(1)} s`;
    const log = this.opts.logger;
    if (e.expectExit) {
      e.expectExit = false;
      log.info({ target: e.spec.name, pid: e.pid, code, signal }, 'stopped to be restarted');
    } else if (this.closed) {
      log.info({ target: e.spec.name, pid: e.pid, code, signal }, 'exited while the supervisor shuts down: not restarted');
    } else if (e.held) {
      log.info({ target: e.spec.name, pid: e.pid, code, signal }, 'exited; held, so not restarted');
      this.note(e, 30, `the supervisor saw pid ${e.pid} exit (${how}); it stays down until it is started again`);
    } else {
      const backoffMs = e.backoffMs = nextBackoff(e.backoffMs, ranMs, this.backoff);
      e.nextStartAt = Date.now() + backoffMs;
      log.warn({ target: e.spec.name, pid: e.pid, code, signal, ranMs, backoffMs }, 'exited unexpectedly; restarting after back-off');
      this.note(e, 40, `the supervisor saw pid ${e.pid} exit (${how}); restarting it in ${backoffMs / 1000} s`);
      e.timer = setTimeout(() => {
        e.timer = undefined;
        e.nextStartAt = undefined;
        const oldPid = e.pid;
        e.restarts++;
        this.spawn(e);
        const msg = `restarted ${e.spec.name} (pid ${oldPid} → ${e.pid}) after it exited (${describeExit(exit)}); back-off ${backoffMs / 1000} s, restart ${e.restarts}`;
        log.warn({ target: e.spec.name, oldPid, pid: e.pid, restarts: e.restarts, backoffMs }, msg);
        this.note(e, 40, msg);
        try { this.opts.onRestart?.({ spec: e.spec, oldPid, pid: e.pid, exit, backoffMs, restarts: e.restarts }); } catch (err) { log.error({ err: String(err) }, 'onRestart'); }
      }, backoffMs);
    }
    this.changed();
  }
}
