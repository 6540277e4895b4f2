// A whole kubemu cluster inside a test suite: Cluster.start() is `kubemu up` in a directory of its
// own (every component still its own process), stop() is `kubemu down --purge` plus whatever faults
// left on the host. In between, faults on demand: kill or restart a component, lose a node, cut it
// off from the control plane, freeze a container; each recorded in faults.jsonl and as an Event.
import { adminTls } from '../launcher/pki.ts';
import type { ClientTls } from '../client/index.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterAddresses, nodeIdentity } from '../launcher/components.ts';
import type { Output } from '../launcher/output.ts';
import { down, up } from '../launcher/up-down.ts';
import { removeNodeContainers } from '../launcher/docker-cleanup.ts';
import { cleanupServiceNetwork } from '../launcher/service-network.ts';
import { isRunning, readState } from '../launcher/state.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { hasNetAdmin } from '../kube-proxy/public.ts';
import { freePort } from '../lib/free-port.ts';
import { faultsPath, postPendingEvents, type FaultRecord } from './fault-log.ts';
import { FaultInjector, type KillOptions, type KillSignal, type PodRef } from './faults.ts';
import { checkOptions, claimName, generateName, releaseName, type ClusterOptions } from './options.ts';
import { removePartitionCgroups, removePartitionRules } from '../launcher/partition.ts';

export type { ClusterOptions } from './options.ts';
export type { FaultRecord, FaultAction } from './fault-log.ts';
export type { KillOptions, KillSignal, PodRef } from './faults.ts';

export interface ComponentInfo {
  name: string; pid: number; running: boolean; log: string;
  /** Restarts by the supervisor after the component exited (kill, crash, a lost leader lease). */
  restarts: number;
}

interface ClusterInit { name: string; dir: string; nodes: number; runtime: string; out: Output }

export class Cluster implements AsyncDisposable {
  readonly name: string;
  readonly dir: string;
  readonly kubeconfigPath: string;
  /** The kubeconfig's text (also at kubeconfigPath), for clients that take it inline. */
  readonly kubeconfig: string;
  /** The apiserver's REST URL, e.g. http://127.0.0.1:41234 */
  readonly apiUrl: string;
  /** The cluster CA and the admin's client certificate (PEM), for clients of your own: `apiUrl` is HTTPS. */
  readonly tls: ClientTls | undefined;
  /** The apiserver's gRPC address, host:port. */
  readonly grpcAddress: string;
  readonly nodes: Array<{ name: string; ip: string }>;
  /** kubemu's own client over HTTP, closed by stop(). */
  readonly client: ApiClient;
  private readonly faultInjector: FaultInjector;
  private readonly init: ClusterInit;
  private stopping?: Promise<void>;

  private constructor(init: ClusterInit) {
    const state = readState(init.dir);
    if (!state) throw new Error(`kubemu up finished but left no state in ${init.dir}`);
    this.init = init;
    this.name = init.name;
    this.dir = init.dir;
    this.kubeconfigPath = state.kubeconfig;
    this.kubeconfig = fs.readFileSync(state.kubeconfig, 'utf8');
    this.apiUrl = state.apiserver;
    this.grpcAddress = state.grpc;
    this.nodes = (state.nodes ?? []).map((name, i) => ({ name, ip: nodeIdentity(init.name, i + 1).nodeIP }));
    this.tls = adminTls(init.dir);
    this.client = createApiClient({ transport: 'http', server: state.apiserver, tls: this.tls });
    this.faultInjector = new FaultInjector(init.dir);
  }

  /** `kubemu up` with these options; resolves once every node is Ready. On failure nothing is left running. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    checkOptions(opts);
    // Refused before anything is started: the clean-up after a failed start must not take that cluster down.
    const running = opts.dir ? readState(path.resolve(opts.dir)) : undefined;
    if (running?.components.some((c) => isRunning(c))) throw new Error(`a cluster is already running from ${path.resolve(opts.dir!)} (apiserver ${running.apiserver})`);
    const name = opts.name ?? await generateName();
    if (opts.name) claimName(name);
    const init: ClusterInit = {
      name, nodes: opts.nodes ?? 3, runtime: opts.runtime ?? 'docker', out: opts.onProgress ?? (() => {}),
      dir: path.resolve(opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `kubemu-${name}-`))),
    };
    try {
      await up({
        dir: init.dir, name, nodes: init.nodes, runtime: init.runtime,
        port: opts.ports?.rest ?? await freePort(), grpcPort: opts.ports?.grpc ?? await freePort(),
        logLevel: opts.logLevel ?? 'info', controlPlaneReplicas: opts.controlPlaneReplicas ?? 1,
        nodeMonitorGracePeriod: opts.nodeMonitorGracePeriod ?? 40, podEvictionTimeout: opts.podEvictionTimeout ?? 300,
        leaderLeaseSeconds: opts.leaderLeaseSeconds ?? 15, proxyMode: opts.proxyMode ?? 'userspace',
        dnsUpstream: opts.dnsUpstream === 'host' ? undefined : opts.dnsUpstream ?? 'none',
      }, init.out);
      return new Cluster(init);
    } catch (err) {
      await teardown(init).catch((cleanup) => init.out(`cleanup after the failed start: ${(cleanup as Error).message}`));
      releaseName(name);
      throw err;
    }
  }

  /** Every component process, as state.json knows it (pids change on restart). */
  components(): ComponentInfo[] {
    return (readState(this.dir)?.components ?? []).map((c) => ({ name: c.name, pid: c.pid, running: isRunning(c), log: c.log, restarts: c.supervised?.restarts ?? 0 }));
  }

  private get live(): FaultInjector {
    if (this.stopping) throw new Error(`cluster ${this.name} is stopped`);
    return this.faultInjector;
  }

  /**
   * 'etcd' | 'apiserver' | 'scheduler' | 'controller-manager' | 'dns' | 'kubelet-<node>' | 'kube-proxy-<node>' …
   * The cluster's supervisor starts it again after a back-off (1 s at first), unless `{ restart: false }`.
   */
  async kill(component: string, signal: KillSignal = 'SIGKILL', opts: KillOptions = {}): Promise<void> { await this.live.kill(component, signal, opts); }
  /** Kill (if running), start the same command line again, and wait until it answers. */
  async restart(component: string): Promise<void> { await this.live.restart(component); }
  /** As if the machine died: its kubelet, kube-proxy and pod containers are SIGKILLed. */
  async stopNode(node: string): Promise<void> { await this.live.stopNode(node); }
  /** Its kubelet and kube-proxy again (the kubelet restarts or recreates the pods). */
  async startNode(node: string): Promise<void> { await this.live.startNode(node); }
  /** The node's kubelet and kube-proxy can no longer reach the apiserver; its pods keep running. */
  async partitionNode(node: string): Promise<void> { await this.live.partitionNode(node); }
  async healNode(node: string): Promise<void> { await this.live.healNode(node); }
  /** docker pause, behind the kubelet's back. */
  async pauseContainer(pod: PodRef, container: string): Promise<void> { await this.live.pauseContainer(pod, container); }
  async resumeContainer(pod: PodRef, container: string): Promise<void> { await this.live.resumeContainer(pod, container); }

  /** Every fault and undo so far, in order. */
  faults(): FaultRecord[] { return this.faultInjector.faults(); }

  /** Copies every component's log and faults.jsonl into `toDir` (created if needed); returns its absolute path. */
  async collectLogs(toDir: string): Promise<string> {
    const to = path.resolve(toDir);
    fs.mkdirSync(to, { recursive: true });
    const logs = path.join(this.dir, 'logs');
    for (const f of fs.existsSync(logs) ? fs.readdirSync(logs) : []) fs.copyFileSync(path.join(logs, f), path.join(to, f));
    if (fs.existsSync(faultsPath(this.dir))) fs.copyFileSync(faultsPath(this.dir), path.join(to, 'faults.jsonl'));
    return to;
  }

  /** `kubemu down --purge`, and what faults left: no process, container, network, address, rule, cgroup or file remains. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await postPendingEvents(this.dir, this.apiUrl).catch(() => 0); // harmless if they cannot go any more
      await this.client.close().catch(() => {});
      try {
        await teardown(this.init);
      } finally {
        releaseName(this.name);
      }
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> { return this.stop(); }
}

/**
 * Takes down everything the cluster may have put on the host. Beyond `down`, it works from the name
 * alone (node names, Docker network, service CIDR derive from it), so a start that failed half-way,
 * after `up` had already removed its state, is cleaned up too. Every step runs; failures are reported together.
 */
async function teardown(c: ClusterInit): Promise<void> {
  const nodes = Array.from({ length: c.nodes }, (_, i) => nodeIdentity(c.name, i + 1).nodeName);
  const docker = c.runtime === 'docker' && c.nodes > 0;
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); } catch (err) { failures.push(`${what}: ${(err as Error).message}`); }
  };
  if (hasNetAdmin()) await step('removing partition rules', () => removePartitionRules(c.name));
  await step('kubemu down', () => down({ dir: c.dir, purge: true }, c.out));
  if (docker) await step('removing pod containers and the Docker network', () => removeNodeContainers(nodes, nodeIdentity(c.name, 1).network));
  await step('cleaning up the service network', () => cleanupServiceNetwork(clusterAddresses(c.name).serviceCIDR, nodes));
  await step('removing cgroups', () => removePartitionCgroups(c.name));
  await step(`removing ${c.dir}`, async () => fs.rmSync(c.dir, { recursive: true, force: true }));
  if (failures.length) throw new Error(`stopping cluster ${c.name} left things behind: ${failures.join('; ')}`);
}
