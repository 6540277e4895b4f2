// The faults themselves, for one cluster directory: everything is read from and written back to its
// state.json, so the Cluster API and the `kubemu kill|partition|…` commands (separate processes, maybe
// later ones) act on the same truth. Each fault and each undo is recorded (fault-log.ts).
// The components have a supervisor (launcher/supervisor.ts) that restarts one that exits, as a node's
// kubelet or systemd would: a kill is a fault it then repairs, unless the kill holds it first
// (--no-restart, stop-node); starting a component again goes through it too.
import { adminTls } from '../launcher/pki.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import type { ClientTls } from '../client/index.ts';
import { readState, writeState, isRunning, type ClusterState, type ComponentState } from '../launcher/state.ts';
import { hasNetAdmin } from '../kube-proxy/public.ts';
import { killNodeContainers, setPaused } from './containers.ts';
import { recordFault, readFaults, type FaultAction, type FaultRecord, type InvolvedObject } from './fault-log.ts';
import { joinPartitionCgroup, partition, removePartitionRules } from '../launcher/partition.ts';
import { respawn, stopProcess, waitReady } from '../launcher/processes.ts';
import { retireDeadSupervisor, runningSupervisor, type SupervisorClient } from '../launcher/supervisor-client.ts';
import { findComponent, findNode, nodeComponents } from './targets.ts';

/** Clusters started before names were recorded are the default one. */
const clusterName = (s: ClusterState) => s.name ?? 'kubemu';

export type KillSignal = 'SIGKILL' | 'SIGTERM';
export interface KillOptions {
  /** false: the supervisor keeps it down (until restart, or startNode for a node's component); default true, it comes back by itself. */
  restart?: boolean;
}
export interface PodRef { namespace?: string; name: string }

export class FaultInjector {
  /** `dir`: the cluster's directory (kubemu up --dir). No I/O until a fault is asked for. */
  constructor(readonly dir: string) {}

  state(): ClusterState {
    const s = readState(this.dir);
    if (!s) throw new Error(`no cluster in ${this.dir} (start one with: kubemu up --dir ${this.dir})`);
    return s;
  }

  /** Read-modify-write of state.json in one synchronous step, so concurrent faults in this process never lose an update. */
  private update(fn: (s: ClusterState) => void): ClusterState {
    const s = this.state();
    fn(s);
    writeState(s);
    return s;
  }

  private record(action: FaultAction, target: string, message: string, involved: InvolvedObject, undone?: FaultAction): Promise<FaultRecord> {
    return recordFault(this.dir, this.state().apiserver, { action, target, ...(undone ? { undone } : {}), message }, involved);
  }

  faults(): FaultRecord[] { return readFaults(this.dir); }

  /** The Node a node's process belongs to; a ComponentStatus for the control plane. */
  private involvedFor(c: ComponentState): InvolvedObject {
    return c.node ? { kind: 'Node', name: c.node } : { kind: 'ComponentStatus', name: c.name };
  }

  private apiPorts(s: ClusterState): number[] {
    return [Number(new URL(s.apiserver).port), Number(s.grpc.split(':').pop())];
  }

  /** The cluster's supervisor, if it runs (clusters started before it, or after it was killed, have none). */
  private supervisor(): SupervisorClient | undefined { return runningSupervisor(this.dir); }

  async kill(component: string, signal: KillSignal = 'SIGKILL', opts: KillOptions = {}): Promise<FaultRecord> {
    const c = findComponent(this.state(), component);
    if (!isRunning(c)) throw new Error(`${component} is not running (pid ${c.pid}); start it with restart`);
    const hold = opts.restart === false;
    if (hold) await this.supervisor()?.hold(component);
    await stopProcess(c, signal);
    return this.record('kill', component, `killed ${component} (pid ${c.pid}) with ${signal}${hold ? ', not to be restarted' : ''}`, this.involvedFor(c));
  }

  /** Kill (if running) and start the same command line again; resolves once it answers as after `up`. */
  async restart(component: string): Promise<FaultRecord> {
    const c = findComponent(this.state(), component);
    const wasRunning = isRunning(c);
    const sup = this.supervisor();
    if (wasRunning && !sup) await stopProcess(c, 'SIGTERM');
    const pid = await this.start(c, sup && wasRunning ? 'restart' : 'start');
    const message = wasRunning ? `restarted ${component} (pid ${c.pid} → ${pid})` : `started ${component} again (pid ${pid})`;
    return this.record('restart', component, message, this.involvedFor(c), wasRunning ? undefined : 'kill');
  }

  /**
   * Starts a stopped component (or, `restart`, stops and starts a running one) and waits for it: through
   * the supervisor, which records the pid and puts it behind its node's partition; else directly, doing both here.
   */
  private async start(c: ComponentState, how: 'start' | 'restart' = 'start'): Promise<number> {
    const since = Date.now();
    const sup = this.supervisor();
    let pid: number;
    let s: ClusterState;
    if (sup) {
      pid = how === 'restart' ? await sup.restart(c.name) : await sup.start(c.name);
      s = this.state();
    } else {
      retireDeadSupervisor(this.dir);
      pid = respawn(c);
      s = this.update((st) => { st.components.find((x) => x.name === c.name)!.pid = pid; });
      if (c.node && (s.partitioned ?? []).includes(c.node)) joinPartitionCgroup(clusterName(s), c.node, [pid]);
    }
    const partitioned = !!c.node && (s.partitioned ?? []).includes(c.node);
    await waitReady({ ...c, pid }, { apiserver: s.apiserver, since, partitioned, tls: adminTls(this.dir) });
    return pid;
  }

  /** As if the machine died: SIGKILL to its kubelet and kube-proxy, and to its pod containers. */
  async stopNode(node: string): Promise<FaultRecord> {
    const s = this.state();
    findNode(s, node);
    const procs = nodeComponents(s, node).filter((c) => isRunning(c));
    if (!procs.length) throw new Error(`node ${node} is already stopped (start it with startNode)`);
    // A dead machine's processes do not come back by themselves: held, so the supervisor leaves them down.
    const sup = this.supervisor();
    for (const c of nodeComponents(s, node)) await sup?.hold(c.name);
    await Promise.all(procs.map((c) => stopProcess(c, 'SIGKILL')));
    const containers = s.runtime === 'docker' ? await killNodeContainers(node) : 0;
    const what = procs.map((c) => `${c.name} (pid ${c.pid})`).join(' and ');
    return this.record('stopNode', node, `stopped node ${node} as if the machine died: SIGKILL to ${what}, and to ${containers} pod container(s)`,
      { kind: 'Node', name: node });
  }

  /** The node's kubelet and kube-proxy again; the kubelet restarts or recreates its pods. */
  async startNode(node: string): Promise<FaultRecord> {
    const s = this.state();
    findNode(s, node);
    const stopped = nodeComponents(s, node).filter((c) => !isRunning(c));
    if (!stopped.length) throw new Error(`node ${node} is running (stop it with stopNode)`);
    const started: string[] = [];
    for (const c of stopped) started.push(`${c.name} (pid ${await this.start(c)})`);
    return this.record('startNode', node, `started node ${node} again: ${started.join(', ')}`, { kind: 'Node', name: node }, 'stopNode');
  }

  /** Cuts the node's kubelet and kube-proxy off from the apiserver; pods keep running. */
  async partitionNode(node: string): Promise<FaultRecord> {
    const s = this.state();
    findNode(s, node);
    if ((s.partitioned ?? []).includes(node)) throw new Error(`node ${node} is already partitioned (heal it with healNode)`);
    if (!hasNetAdmin()) throw new Error('partitioning a node needs root (CAP_NET_ADMIN): it moves processes between cgroups and adds iptables rules');
    const ports = this.apiPorts(s);
    const pids = nodeComponents(s, node).filter((c) => isRunning(c)).map((c) => c.pid);
    // Recorded first: a kubelet (re)started from now on joins the partition's cgroup.
    this.update((st) => { st.partitioned = [...(st.partitioned ?? []), node]; });
    try {
      await partition(clusterName(s), node, pids, ports, new URL(s.apiserver).hostname);
    } catch (err) {
      await removePartitionRules(clusterName(s), node).catch(() => {});
      this.update((st) => { st.partitioned = (st.partitioned ?? []).filter((n) => n !== node); });
      throw err;
    }
    return this.record('partitionNode', node, `partitioned node ${node} from the control plane: its kubelet and kube-proxy cannot reach the apiserver (${new URL(s.apiserver).hostname}:${ports.join(', :')}); its pods keep running`,
      { kind: 'Node', name: node });
  }

  async healNode(node: string): Promise<FaultRecord> {
    const s = this.state();
    findNode(s, node);
    if (!(s.partitioned ?? []).includes(node)) throw new Error(`node ${node} is not partitioned`);
    await removePartitionRules(clusterName(s), node);
    this.update((st) => { st.partitioned = (st.partitioned ?? []).filter((n) => n !== node); });
    return this.record('healNode', node, `healed node ${node}: it reaches the control plane again`, { kind: 'Node', name: node }, 'partitionNode');
  }

  pauseContainer(pod: PodRef, container: string): Promise<FaultRecord> { return this.setPaused(pod, container, true); }
  resumeContainer(pod: PodRef, container: string): Promise<FaultRecord> { return this.setPaused(pod, container, false); }

  private async setPaused(pod: PodRef, container: string, paused: boolean): Promise<FaultRecord> {
    const s = this.state();
    if (s.runtime !== 'docker') throw new Error(`pausing a container needs the docker runtime; this cluster runs ${s.runtime ?? 'no nodes'}`);
    const namespace = pod.namespace ?? 'default';
    const { node } = await setPaused(s.nodes ?? [], namespace, pod.name, container, paused);
    const uid = await podUid(s.apiserver, namespace, pod.name, adminTls(this.dir));
    const target = `${namespace}/${pod.name}/${container}`;
    const message = paused ? `paused container ${container} of pod ${namespace}/${pod.name} on ${node} (docker pause, behind the kubelet's back)`
      : `resumed container ${container} of pod ${namespace}/${pod.name} on ${node}`;
    return this.record(paused ? 'pauseContainer' : 'resumeContainer', target, message, { kind: 'Pod', name: pod.name, namespace, uid },
      paused ? undefined : 'pauseContainer');
  }
}

/** The pod's uid for the Event, if the apiserver answers quickly (the Event is still written without it). */
async function podUid(apiserver: string, namespace: string, name: string, tls?: ClientTls): Promise<string | undefined> {
  try {
    const res = await tlsFetch(`${apiserver}/api/v1/namespaces/${namespace}/pods/${name}`, { signal: AbortSignal.timeout(2000) }, tls);
    return res.ok ? ((await res.json()) as { metadata?: { uid?: string } }).metadata?.uid : undefined;
  } catch {
    return undefined;
  }
}
