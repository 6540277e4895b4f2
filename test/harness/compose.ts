// docker-compose.yml under a project name of its own, for tests and bench:startup: which compose command
// this machine has, the stack's environment (its own apiserver ports, its own $PWD for .kubemu/compose),
// and `dc(...)` to run compose commands against it.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/free-port.ts';
import { ROOT } from '../../lib/root.ts';
import { clusterAddresses, nodeIdentity } from '../../launcher/components.ts';
import type { ClusterState } from '../../launcher/state.ts';
import type { KubemuCluster } from './kubemu-cluster.ts';
import type { ClientTls } from '../../client/index.ts';
import { readKubeconfig } from '../../client/kubeconfig.ts';

const run = promisify(execFile);
/** docker-compose.yml is written for the cluster name "compose": its nodes, network and service CIDR. */
export const COMPOSE_NODES = [1, 2, 3].map((n) => nodeIdentity('compose', n));
export const COMPOSE_ADDRS = clusterAddresses('compose');

/** docker compose v2 if the plugin is there, else docker-compose v1; undefined when neither is installed. */
export function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}

export const NO_COMPOSE = 'neither `docker compose` (v2 plugin) nor `docker-compose` is installed: apt-get install -y docker-compose';

export interface ComposeProject {
  project: string;
  /** Its $PWD: .kubemu/compose (kubeconfig, kubelet root dirs) goes under it. */
  dir: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  /** Runs `<compose> -f docker-compose.yml -p <project> ...args`; out is stdout and stderr together. */
  dc(args: string[], timeoutMs?: number): { status: number | null; stdout: string; out: string };
  /** The cluster PKI the init step made (the project's pki volume), copied to <dir>/pki once the stack is up. */
  pki(): string;
  /** The admin's TLS from the kubeconfig the stack wrote: the cluster CA and the kubernetes-admin certificate. */
  tls(): ClientTls;
}

/** A project with free apiserver ports (apiserver-1 and apiserver-2), so it does not need 6443–6446. */
export async function composeProject(project: string): Promise<ComposeProject> {
  const cmd = composeCommand();
  if (!cmd) throw new Error(NO_COMPOSE);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${project}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env, PWD: dir,
    KUBEMU_API_PORT: String(await freePort()), KUBEMU_GRPC_PORT: String(await freePort()),
    KUBEMU_API_PORT_2: String(await freePort()), KUBEMU_GRPC_PORT_2: String(await freePort()),
  };
  const dc = (args: string[], timeoutMs = 600_000) => {
    const r = spawnSync(cmd[0], [...cmd.slice(1), '-f', path.join(ROOT, 'docker-compose.yml'), '-p', project, ...args],
      { cwd: ROOT, env, encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  const kubeconfig = path.join(dir, '.kubemu', 'compose', 'kubeconfig');
  const pki = () => {
    const out = path.join(dir, 'pki');
    if (fs.existsSync(out)) return out;
    // Any container that mounts the volume will do: apiserver-2 outlives the tests that kill apiserver-1.
    const id = dc(['ps', '-q', 'apiserver-2']).stdout.trim();
    const cp = spawnSync('docker', ['cp', `${id}:/var/lib/kubemu/pki`, out], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`docker cp of the pki volume from apiserver-2 (${id || 'not running'}): ${cp.stderr}`);
    return out;
  };
  return { project, dir, kubeconfig, env, dc, pki, tls: () => readKubeconfig(kubeconfig).tls! };
}

/** The project as the harness's KubemuCluster (kubectl through its kubeconfig; `down` is `down -v`). kubectl
 *  goes to the apiserver on `apiPort()`: apiserver-1's by default (both serve one certificate, the kubeconfig's CA verifies either). */
export function composeCluster(p: ComposeProject, apiPort: () => string = () => p.env.KUBEMU_API_PORT!): KubemuCluster {
  return {
    dir: p.dir,
    state: (): ClusterState => ({
      dir: p.dir, name: 'compose', startedAt: '', apiserver: `https://127.0.0.1:${apiPort()}`, grpc: `127.0.0.1:${p.env.KUBEMU_GRPC_PORT}`,
      etcd: 'https://127.0.0.1:12379', kubeconfig: p.kubeconfig, components: [], nodes: COMPOSE_NODES.map((n) => n.nodeName), runtime: 'docker',
      network: COMPOSE_NODES[0].network, serviceCIDR: COMPOSE_ADDRS.serviceCIDR,
    } as ClusterState),
    kubectl: async (...args: string[]) => (await run('kubectl', ['--kubeconfig', p.kubeconfig, '--server', `https://127.0.0.1:${apiPort()}`, ...args],
      { encoding: 'utf8', env: { ...process.env, HOME: p.dir }, timeout: 300_000, maxBuffer: 16 << 20 })).stdout,
    down: () => {
      const down = p.dc(['down', '-v']);
      if (down.status !== 0) throw new Error(`down -v failed:\n${down.out}`);
    },
  };
}
