// The kubelet's Node: register it, keep its status and conditions current, and heartbeat with
// a Lease in kube-node-lease (what the node lifecycle controller watches).
import os from 'node:os';
import { now, type KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import type { Logger } from '../lib/logger.ts';

const NODES = { group: '', resource: 'nodes' };
const LEASES = { group: 'coordination.k8s.io', resource: 'leases' };
export const KUBELET_VERSION = 'v1.32.0';

export interface NodeConfig {
  nodeName: string;
  nodeIP: string;
  cpu?: string;
  memory?: string;
  maxPods?: number;
  labels?: Record<string, string>;
  runtimeVersion: string;
  kubeletPort: number;
  /** Where the kubemu.io/local-path provisioner keeps this node's volumes (published as LOCAL_PATH_DIR_ANNOTATION). */
  localPathDir?: string;
}

/** The node's directory for kubemu.io/local-path volumes: the provisioner reads it to name a new volume's path. */
export const LOCAL_PATH_DIR_ANNOTATION = 'kubemu.io/local-path-dir';

export function nodeObject(cfg: NodeConfig, images: Array<{ names: string[]; sizeBytes: number }> = []): KubeObject {
  const capacity = {
    cpu: cfg.cpu ?? String(os.cpus().length),
    memory: cfg.memory ?? `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: String(cfg.maxPods ?? 110),
  };
  const t = now();
  const cond = (type: string, status: string, reason: string, message: string) =>
    ({ type, status, lastHeartbeatTime: t, lastTransitionTime: t, reason, message });
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: cfg.nodeName,
      labels: {
        'kubernetes.io/hostname': cfg.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        'node.kubernetes.io/instance-type': 'kubemu', ...(cfg.labels ?? {}),
      },
      ...(cfg.localPathDir ? { annotations: { [LOCAL_PATH_DIR_ANNOTATION]: cfg.localPathDir } } : {}),
    },
    spec: {},
    status: {
      capacity, allocatable: capacity,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [{ type: 'InternalIP', address: cfg.nodeIP }, { type: 'Hostname', address: cfg.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: cfg.kubeletPort } },
      nodeInfo: {
        kubeletVersion: KUBELET_VERSION, kubeProxyVersion: KUBELET_VERSION, containerRuntimeVersion: cfg.runtimeVersion,
        operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        osImage: `kubemu node on ${os.type()}`, kernelVersion: os.release(), machineID: cfg.nodeName, systemUUID: cfg.nodeName, bootID: String(process.pid),
      },
      images,
    },
  };
}

/** Create the Node, or take it over (status and labels) if it exists from an earlier run. */
export async function registerNode(client: ApiClient, node: KubeObject): Promise<void> {
  try {
    await client.create(NODES, undefined, node);
  } catch (err) {
    if ((err as { code?: string }).code !== 'AlreadyExists') throw err;
    const cur = await client.get(NODES, undefined, node.metadata.name!);
    const annotations = { ...cur.metadata.annotations, ...node.metadata.annotations };
    await client.update(NODES, undefined, { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, ...node.metadata.labels }, ...(Object.keys(annotations).length ? { annotations } : {}) } });
    await client.updateStatus(NODES, undefined, { ...(await client.get(NODES, undefined, node.metadata.name!)), status: node.status });
  }
}

/** Post current status (Ready heartbeat); called periodically. */
export async function updateNodeStatus(client: ApiClient, node: KubeObject): Promise<void> {
  const cur = await client.get(NODES, undefined, node.metadata.name!);
  const old: Array<Record<string, string>> = cur.status?.conditions ?? [];
  const conditions = (node.status.conditions as Array<Record<string, string>>).map((c) => {
    const prev = old.find((o) => o.type === c.type);
    return prev && prev.status === c.status ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
  });
  await client.updateStatus(NODES, undefined, { ...cur, status: { ...node.status, conditions } });
}

const microNow = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** Renew (or create) the node's Lease in kube-node-lease. */
export async function renewLease(client: ApiClient, nodeName: string, durationSeconds: number, logger: Logger): Promise<void> {
  try {
    const lease = await client.get(LEASES, 'kube-node-lease', nodeName);
    await client.update(LEASES, 'kube-node-lease', { ...lease, spec: { ...lease.spec, holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microNow() } });
  } catch (err) {
    if ((err as { code?: string }).code !== 'NotFound') { logger.warn({ err: String(err) }, 'lease renewal failed'); return; }
    await client.create(LEASES, 'kube-node-lease', {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: nodeName, namespace: 'kube-node-lease' },
      spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microNow() },
    }).catch((e) => logger.warn({ err: String(e) }, 'lease creation failed'));
  }
}
