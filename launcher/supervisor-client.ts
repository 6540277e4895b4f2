// Starting a cluster's supervisor (supervisor-main.ts) and talking to it over its Unix socket: `up`
// launches every component through it, the fault commands hold, start and restart through it, and
// `down` stops it before anything else so nothing is restarted during teardown.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../lib/root.ts';
import { bundledEntry } from './bundle.ts';
import { isAlive, isRunning, readState, readSupervisorFile, supervisorPath, tailFile, writeState } from './state.ts';
import type { BackOff, ComponentSpec } from './supervisor.ts';

/** <dir>/supervisor.sock, or a name in the temp dir when that path is too long for a Unix socket (108 bytes). */
export function socketPathFor(dir: string): string {
  const p = path.join(dir, 'supervisor.sock');
  if (Buffer.byteLength(p) < 100) return p;
  return path.join(os.tmpdir(), `kubemu-supervisor-${crypto.createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`);
}

export class SupervisorClient {
  constructor(readonly pid: number, readonly socket: string) {}

  private call<T>(method: 'GET' | 'POST', p: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, path: p, method, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => { text += d; }).on('error', reject).on('end', () => {
          let obj: any;
          try { obj = JSON.parse(text); } catch { obj = { error: text }; }
          if (res.statusCode === 200) resolve(obj as T);
          else reject(new Error(`supervisor: ${obj.error ?? `${res.statusCode}`}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`supervisor at ${this.socket}: no answer within ${timeoutMs / 1000} s`))).on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async launch(spec: ComponentSpec): Promise<number> { return (await this.call<{ pid: number }>('POST', '/launch', spec)).pid; }
  async hold(name: string): Promise<void> { await this.call('POST', '/hold', { name }); }
  async start(name: string): Promise<number> { return (await this.call<{ pid: number }>('POST', '/start', { name })).pid; }
  async restart(name: string, graceMs = 5000): Promise<number> { return (await this.call<{ pid: number }>('POST', '/restart', { name, graceMs }, graceMs + 30_000)).pid; }
  status(): Promise<Record<string, unknown>> { return this.call('GET', '/status'); }

  /** SIGTERM, and wait until it has gone (SIGKILL after 5 s): the components keep running. */
  async stop(): Promise<void> {
    try { process.kill(this.pid, 'SIGTERM'); } catch { return; }
    for (const [ms, next] of [[5000, 'SIGKILL'], [5000, undefined]] as const) {
      const end = Date.now() + ms;
      while (isAlive(this.pid) && Date.now() < end) await sleep(25);
      if (!isAlive(this.pid)) return;
      if (next) try { process.kill(this.pid, next); } catch { return; }
    }
    throw new Error(`the supervisor (pid ${this.pid}) is still running after SIGKILL`);
  }
}

/** The cluster's supervisor if it runs (its pid alive and still its command line). */
export function runningSupervisor(dir: string): SupervisorClient | undefined {
  const f = readSupervisorFile(dir);
  if (!f || !isRunning({ name: 'supervisor', pid: f.pid, argv: f.argv, log: f.log })) return undefined;
  return new SupervisorClient(f.pid, f.socket);
}

/**
 * When the supervisor is gone (killed) but its file is left, the pids it last started go into state.json and
 * its file goes: from then on whoever starts a component without it (cluster/faults.ts) records the pid there.
 */
export function retireDeadSupervisor(dir: string): void {
  if (!readSupervisorFile(dir) || runningSupervisor(dir)) return;
  const state = readState(dir);
  if (state) writeState(state);
  fs.rmSync(supervisorPath(dir), { force: true });
}

/** Stops the cluster's supervisor if one runs; true if it did. */
export async function stopSupervisor(dir: string): Promise<boolean> {
  const s = runningSupervisor(dir);
  if (!s) return false;
  await s.stop();
  return true;
}

export interface SupervisorOptions {
  /** Where its Events go. */
  apiserver?: string;
  /** A file holding the token to post them with (default: the admin token in <dir>/tokens.csv, if any). */
  tokenFile?: string;
  logLevel?: string;
  backoff?: BackOff;
}

/** Starts the cluster's supervisor, detached (it outlives `kubemu up`), and resolves once it answers. */
export async function startSupervisor(dir: string, o: SupervisorOptions = {}): Promise<SupervisorClient> {
  const socket = socketPathFor(dir);
  const log = path.join(dir, 'logs', 'supervisor.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.rmSync(supervisorPath(dir), { force: true });
  const entry = 'launcher/supervisor-main.ts';
  const bundled = bundledEntry(entry);
  const args = ['--dir', dir, '--socket', socket, '--log-level', o.logLevel ?? 'info', ...(o.apiserver ? ['--apiserver', o.apiserver] : []), ...(o.tokenFile ? ['--token-file', o.tokenFile] : []),
    ...(o.backoff ? ['--backoff-initial-ms', String(o.backoff.initialMs), '--backoff-max-ms', String(o.backoff.maxMs), '--backoff-reset-ms', String(o.backoff.resetAfterMs)] : [])];
  const argv = bundled ? [process.execPath, bundled, ...args] : [process.execPath, '--import', 'tsx', path.join(ROOT, entry), ...args];
  const out = fs.openSync(log, 'a');
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error('the supervisor did not start');
  const client = new SupervisorClient(child.pid, socket);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!isAlive(child.pid)) throw new Error(`the supervisor exited while starting. Last lines of ${log}:\n${tailFile(log)}`);
    if (readSupervisorFile(dir)?.pid === child.pid) {
      try { await client.status(); return client; } catch { /* not listening yet */ }
    }
    if (Date.now() > deadline) {
      await client.stop().catch(() => {});
      throw new Error(`the supervisor did not answer on ${socket} within 30 s. Last lines of ${log}:\n${tailFile(log)}`);
    }
    await sleep(50);
  }
}
