// What `kubemu up` started, kept in <dir>/state.json so `down` and `status` find it again. The
// supervisor (launcher/supervisor.ts) owns the processes once started and alone writes <dir>/supervisor.json:
// their current pids, restarts and back-off. readState lays that over state.json, so every reader sees
// the pid a component has now, and no two processes ever write the same file.
import fs from 'node:fs';
import path from 'node:path';

export interface ComponentState {
  name: string;
  pid: number;
  log: string;
  /** Where it answers, e.g. http://127.0.0.1:6443 */
  url?: string;
  /** The command line it was started with: `kubemu restart` runs exactly this again. */
  argv?: string[];
  /** The node it belongs to (kubelets and kube-proxies): stop-node and partition act on it. */
  node?: string;
  /** Up once this answers 200 (a kubelet's own /healthz: it also waits for its Node to be Ready). */
  readyUrl?: string;
  /** What the supervisor knows of it (from supervisor.json; absent when it was not started through one). */
  supervised?: SupervisedStatus;
}

export interface ExitInfo { code: number | null; signal: string | null; at: string }

export interface SupervisedStatus {
  /** running; backoff: exited, started again at nextStartAt; held: exited and stays down (kill --no-restart, stop-node). */
  state: 'running' | 'backoff' | 'held';
  /** Restarts after an unexpected exit (not counting `kubemu restart`). */
  restarts: number;
  startedAt: string;
  lastExit?: ExitInfo;
  /** The delay before the current or last restart, ms. */
  backoffMs?: number;
  nextStartAt?: string;
}

/** <dir>/supervisor.json, written only by the supervisor. */
export interface SupervisorFile {
  pid: number;
  argv: string[];
  socket: string;
  log: string;
  components: Record<string, SupervisedStatus & { pid: number }>;
}

export interface ClusterState {
  dir: string;
  startedAt: string;
  apiserver: string;
  grpc: string;
  etcd: string;
  kubeconfig: string;
  components: ComponentState[];
  /** Node names of the kubelets, and their runtime (docker: pod containers to remove on down). */
  nodes?: string[];
  runtime?: string;
  /** The cluster's Docker network. */
  network?: string;
  /** A swarm overlay this host reaches through a gateway container (launcher/overlay-gateway.ts): released on down. */
  overlayGateway?: string;
  /** Its service CIDR: ClusterIPs on kubemu0 and kube-proxy chains to clean up on down. */
  serviceCIDR?: string;
  /** The cluster name (--name): node names, addresses and cgroups derive from it. */
  name?: string;
  /** Nodes cut off from the control plane by `kubemu partition`, until `kubemu heal`. */
  partitioned?: string[];
  /** The supervisor of the components (from supervisor.json). */
  supervisor?: { pid: number; argv: string[]; socket: string; log: string };
}

export const statePath = (dir: string) => path.join(dir, 'state.json');
export const supervisorPath = (dir: string) => path.join(dir, 'supervisor.json');

export function readSupervisorFile(dir: string): SupervisorFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(supervisorPath(dir), 'utf8')) as SupervisorFile;
  } catch {
    return undefined;
  }
}

export function readState(dir: string): ClusterState | undefined {
  let state: ClusterState;
  try {
    state = JSON.parse(fs.readFileSync(statePath(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
  const sup = readSupervisorFile(dir);
  if (!sup) return state;
  const { components, ...supervisor } = sup;
  state.supervisor = supervisor;
  for (const c of state.components) {
    const live = components[c.name];
    if (!live) continue;
    const { pid, ...status } = live;
    c.pid = pid;
    c.supervised = status;
  }
  return state;
}

/** Writes state.json; what came from supervisor.json stays out of it (the supervisor's file stays the one truth of it). */
export function writeState(state: ClusterState): void {
  fs.mkdirSync(state.dir, { recursive: true });
  const { supervisor: _s, ...rest } = state;
  const own = { ...rest, components: state.components.map(({ supervised: _v, ...c }) => c) };
  fs.writeFileSync(statePath(state.dir), JSON.stringify(own, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(statePath(state.dir), 0o600);
}

/** Writes a file whole or not at all (rename is atomic): readers in other processes never see half of it. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; only its parent has not collected it yet (or no init reaps it).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

/** Whether the component still runs: its pid is alive and, where its command line is known, is still that
 * command (so a pid the kernel has since given to another process is never signalled). */
export function isRunning(c: ComponentState): boolean {
  if (!isAlive(c.pid)) return false;
  if (!c.argv) return true;
  const cmd = commandLineOf(c.pid);
  if (!cmd) return true; // no /proc: trust the pid
  if (cmd.join('\0') === c.argv.join('\0')) return true;
  try {
    // Spawned a moment ago by this process and not yet exec'd: still this process's command line.
    const stat = fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
  } catch {
    return true; // no /proc: trust the pid
  }
}

/** The command line of a running process (etcd's: lib/etcd-process starts it), so it can be run again. */
export function commandLineOf(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

export function tailFile(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
