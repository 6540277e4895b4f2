// What the scheduler knows about one node: the node, the pods on it (bound or assumed), and
// what they request — kube-scheduler's NodeInfo.
import { parseQuantity, toBytes, toMillicores } from '../api/quantity.ts';
import type { KubeObject } from '../api/types.ts';

export interface Resources { milliCPU: number; memory: number; pods: number }

// Informer objects are replaced, never mutated, so a pod's parsed requests can be remembered by identity.
const requestsCache = new WeakMap<KubeObject, Resources>();

/** A pod's effective requests: the sum over its containers, or the largest init container if bigger. */
export function podRequests(pod: KubeObject): Resources {
  let r = requestsCache.get(pod);
  if (!r) requestsCache.set(pod, r = computeRequests(pod));
  return r;
}

function computeRequests(pod: KubeObject): Resources {
  const sum = { milliCPU: 0, memory: 0, pods: 1 };
  for (const c of pod.spec?.containers ?? []) {
    sum.milliCPU += toMillicores(c.resources?.requests?.cpu ?? 0);
    sum.memory += toBytes(c.resources?.requests?.memory ?? 0);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    sum.milliCPU = Math.max(sum.milliCPU, toMillicores(c.resources?.requests?.cpu ?? 0));
    sum.memory = Math.max(sum.memory, toBytes(c.resources?.requests?.memory ?? 0));
  }
  return sum;
}

export function nodeAllocatable(node: KubeObject): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCPU: a.cpu !== undefined ? toMillicores(a.cpu) : 0,
    memory: a.memory !== undefined ? toBytes(a.memory) : 0,
    pods: a.pods !== undefined ? Math.floor(parseQuantity(a.pods) ?? 0) : 110,
  };
}

/** host ports a pod uses, as "protocol/hostIP/port". */
export function podHostPorts(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort) out.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
    }
  }
  return out;
}

export class NodeInfo {
  readonly pods: KubeObject[] = [];
  readonly requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly usedPorts = new Set<string>();
  /** Pods with pod affinity or anti-affinity terms: the ones whose terms the InterPodAffinity plugin reads. */
  readonly podsWithAffinity: KubeObject[] = [];
  readonly allocatable: Resources;
  readonly images: Set<string>;

  constructor(readonly node: KubeObject) {
    this.allocatable = nodeAllocatable(node);
    this.images = new Set((node.status?.images ?? []).flatMap((i: { names?: string[] }) => i.names ?? []));
  }

  get name(): string { return this.node.metadata.name!; }

  addPod(pod: KubeObject): void {
    this.pods.push(pod);
    const r = podRequests(pod);
    this.requested.milliCPU += r.milliCPU;
    this.requested.memory += r.memory;
    this.requested.pods += 1;
    for (const p of podHostPorts(pod)) this.usedPorts.add(p);
    if (pod.spec?.affinity?.podAffinity || pod.spec?.affinity?.podAntiAffinity) this.podsWithAffinity.push(pod);
  }
}
