// Stopping a component process and running it again with the command line `kubemu up` recorded,
// then waiting for it the way `up` does (its health URL; for a kubelet, its Node Ready again).
import type { ClientTls } from '../client/index.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDetached, waitHttp, waitNodeReady } from './components.ts';
import { isAlive, tailFile, type ComponentState } from './state.ts';

/** Signals the component's process group (it was started detached, as its group's leader). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try { process.kill(pid, sig); } catch { /* already gone */ }
  }
}

/**
 * Sends `sig` and resolves once the process is gone. SIGTERM gets `graceMs` to shut down cleanly,
 * then SIGKILL, as `kubemu down` does.
 */
export async function stopProcess(c: ComponentState, sig: 'SIGKILL' | 'SIGTERM', graceMs = 5000): Promise<void> {
  signal(c.pid, sig);
  for (const [limit, next] of [[graceMs, 'SIGKILL'], [10_000, undefined]] as const) {
    const deadline = Date.now() + limit;
    while (isAlive(c.pid) && Date.now() < deadline) await sleep(25);
    if (!isAlive(c.pid)) return;
    if (!next) break;
    signal(c.pid, next);
  }
  throw new Error(`${c.name} (pid ${c.pid}) is still running after SIGKILL`);
}

/** Runs the component's recorded command line again, its output appended to the same log; returns the new pid. */
export function respawn(c: ComponentState): number {
  if (!c.argv?.length) throw new Error(`${c.name} has no recorded command line (started by an older kubemu up?): restart the whole cluster instead`);
  return spawnDetached(c.name, c.argv, c.log);
}

export interface ReadyOptions {
  /** The apiserver's REST URL, where a kubelet's Node is looked up. */
  apiserver: string;
  /** When the process was started (ms): a restarted kubelet must have renewed its Lease since. */
  since: number;
  /** A partitioned node's kubelet cannot reach the apiserver: its own /healthz is all there is to wait for. */
  partitioned: boolean;
  timeoutMs?: number;
  /** The admin's TLS to the apiserver (launcher/pki.ts adminTls). */
  tls?: ClientTls;
}

/** Resolves when the (re)started component answers; rejects with the end of its log if it dies or times out. */
export async function waitReady(c: ComponentState, o: ReadyOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  try {
    if (c.node && c.name === `kubelet-${c.node}` && !o.partitioned) await waitNodeReady(o.apiserver, c.node, c.pid, o.since, timeoutMs, undefined, o.tls);
    else if (c.readyUrl) await waitHttp(c.name, c.pid, c.readyUrl, timeoutMs, o.tls);
  } catch (err) {
    throw new Error(`${(err as Error).message}. Last lines of ${c.log}:\n${tailFile(c.log)}`);
  }
}
