// What `kubemu up` started, kept in <dir>/state.json so `down` and `status` find it again.
import fs from 'node:fs';
import path from 'node:path';

export interface ComponentState {
  name: string;
  pid: number;
  log: string;
  /** Where it answers, e.g. http://127.0.0.1:6443 */
  url?: string;
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
  /** Its service CIDR: ClusterIPs on kubemu0 and kube-proxy chains to clean up on down. */
  serviceCIDR?: string;
}

export const statePath = (dir: string) => path.join(dir, 'state.json');

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeState(state: ClusterState): void {
  fs.mkdirSync(state.dir, { recursive: true });
  fs.writeFileSync(statePath(state.dir), JSON.stringify(state, null, 2) + '\n');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function tailFile(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
