// `kubemu status`: each component of the cluster started from --dir (running, restarts, last exit,
// back-off), its supervisor, and whether the apiserver is ready.
import { adminTls } from '../launcher/pki.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import path from 'node:path';
import { defaultOutput } from '../launcher/output.ts';
import { isRunning, readState } from '../launcher/state.ts';
import { runningSupervisor } from '../launcher/supervisor-client.ts';
import { describeExit } from '../launcher/supervisor.ts';

export async function status(opts: { dir: string }): Promise<number> {
  const say = defaultOutput;
  const dir = path.resolve(opts.dir);
  const state = readState(dir);
  if (!state) {
    say(`no cluster in ${dir} (start one with: kubemu up --dir ${opts.dir})`);
    return 1;
  }
  let healthy = true;
  const ago = (iso: string) => `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))} s ago`;
  say(`${'COMPONENT'.padEnd(22)} ${'PID'.padEnd(12)} ${'STATUS'.padEnd(30)} ${'RESTARTS'.padEnd(9)} ${'LAST EXIT'.padEnd(26)} URL, LOG`);
  for (const c of state.components) {
    const alive = isRunning(c);
    healthy &&= alive;
    const sv = c.supervised;
    const st = alive ? 'running'
      : sv?.state === 'backoff' ? `back-off ${(sv.backoffMs ?? 0) / 1000} s${sv.nextStartAt ? ` (restart in ${Math.max(0, Math.ceil((Date.parse(sv.nextStartAt) - Date.now()) / 1000))} s)` : ''}`
      : sv?.state === 'held' ? 'stopped (not restarted)' : 'NOT RUNNING';
    const exit = sv?.lastExit ? `${describeExit(sv.lastExit)}, ${ago(sv.lastExit.at)}` : '';
    say(`${c.name.padEnd(22)} pid ${String(c.pid).padEnd(8)} ${st.padEnd(30)} ${String(sv?.restarts ?? '-').padEnd(9)} ${exit.padEnd(26)} ${c.url ?? ''}  log ${c.log}`);
  }
  const sup = state.supervisor;
  if (sup && runningSupervisor(dir)) say(`supervisor pid ${sup.pid} running (restarts components that exit)  log ${sup.log}`);
  else say(`supervisor ${sup ? `pid ${sup.pid} NOT RUNNING` : 'none'}: components that exit are not restarted`);
  try {
    const res = await tlsFetch(`${state.apiserver}/readyz`, { signal: AbortSignal.timeout(2000) }, adminTls(dir));
    say(`apiserver /readyz: ${res.status} ${(await res.text()).trim()}`);
    healthy &&= res.ok;
  } catch (err) {
    say(`apiserver /readyz: not answering (${(err as Error).message})`);
    healthy = false;
  }
  say(`kubeconfig: ${state.kubeconfig}`);
  return healthy ? 0 : 1;
}
