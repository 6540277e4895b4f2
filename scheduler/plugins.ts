// Filter and score plugins with kube-scheduler's semantics and reason texts
// (pkg/scheduler/framework/plugins). A filter returns undefined (fits) or the reason it does not.
import type { KubeObject } from '../api/types.ts';
import { NodeInfo, podHostPorts, podRequests } from './node-info.ts';
import { effectiveTaints, matchesNodeSelectorAndAffinity, matchTerm, tolerates, untolerated } from './node-match.ts';
import { INTER_POD_AFFINITY_FILTER, INTER_POD_AFFINITY_SCORE } from './pod-affinity.ts';
import { TOPOLOGY_SPREAD_FILTER, TOPOLOGY_SPREAD_SCORE } from './topology-spread.ts';
import type { FilterPlugin, ScorePlugin } from './plugin-types.ts';
import { VOLUME_BINDING_FILTER } from './volume-binding.ts';

type Obj = Record<string, any>;

export type { FilterPlugin, ScorePlugin } from './plugin-types.ts';

// ---- filters ------------------------------------------------------------------------------

export const FILTERS: FilterPlugin[] = [
  {
    name: 'NodeName',
    filter: (pod, n) => (pod.spec?.nodeName && pod.spec.nodeName !== n.name ? "node(s) didn't match the requested node name" : undefined),
  },
  {
    name: 'NodeUnschedulable',
    filter: (pod, n) => {
      if (!n.node.spec?.unschedulable) return undefined;
      const ok = (pod.spec?.tolerations ?? []).some((t: Obj) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }));
      return ok ? undefined : 'node(s) were unschedulable';
    },
  },
  {
    name: 'TaintToleration',
    filter: (pod, n) => {
      const t = untolerated(pod, effectiveTaints(n.node), ['NoSchedule', 'NoExecute']);
      return t ? `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}` : undefined;
    },
  },
  {
    name: 'NodeAffinity',
    filter: (pod, n) => (matchesNodeSelectorAndAffinity(pod, n.node) ? undefined : "node(s) didn't match Pod's node affinity/selector"),
  },
  {
    name: 'NodePorts',
    filter: (pod, n) => {
      for (const p of podHostPorts(pod)) {
        const [proto, ip, port] = p.split('/');
        const clash = [...n.usedPorts].some((u) => {
          const [uProto, uIp, uPort] = u.split('/');
          return uProto === proto && uPort === port && (uIp === ip || uIp === '0.0.0.0' || ip === '0.0.0.0');
        });
        if (clash) return "node(s) didn't have free ports for the requested pod ports";
      }
      return undefined;
    },
  },
  {
    name: 'NodeResourcesFit',
    filter: (pod, n) => {
      const r = podRequests(pod);
      const reasons: string[] = [];
      if (n.requested.pods + 1 > n.allocatable.pods) reasons.push('Too many pods');
      if (r.milliCPU > 0 && n.requested.milliCPU + r.milliCPU > n.allocatable.milliCPU) reasons.push('Insufficient cpu');
      if (r.memory > 0 && n.requested.memory + r.memory > n.allocatable.memory) reasons.push('Insufficient memory');
      return reasons.length ? reasons.join(', ') : undefined;
    },
  },
  VOLUME_BINDING_FILTER,
  TOPOLOGY_SPREAD_FILTER,
  INTER_POD_AFFINITY_FILTER,
];

// ---- scores (0–100 each) ------------------------------------------------------------------

/** Requests used for scoring: pods without requests count as 100m CPU and 200 MiB, as kube-scheduler does. */
function scoringRequests(pod: KubeObject) {
  const r = podRequests(pod);
  return { milliCPU: r.milliCPU || 100, memory: r.memory || 200 * 1024 * 1024 };
}

function fractions(pod: KubeObject, n: NodeInfo): [number, number] {
  const r = scoringRequests(pod);
  const used = n.pods.reduce((acc, p) => { const s = scoringRequests(p); acc.cpu += s.milliCPU; acc.mem += s.memory; return acc; }, { cpu: 0, mem: 0 });
  const cpu = n.allocatable.milliCPU ? (used.cpu + r.milliCPU) / n.allocatable.milliCPU : 1;
  const mem = n.allocatable.memory ? (used.mem + r.memory) / n.allocatable.memory : 1;
  return [Math.min(1, cpu), Math.min(1, mem)];
}

const ownerOf = (pod: KubeObject): string | undefined => {
  const ref = (pod.metadata.ownerReferences ?? []).find((o) => o.controller);
  return ref ? `${pod.metadata.namespace}/${ref.kind}/${ref.uid}` : undefined;
};

export const SCORES: ScorePlugin[] = [
  {
    name: 'NodeResourcesLeastAllocated', weight: 1,
    score: (pod, n) => { const [c, m] = fractions(pod, n); return ((1 - c) * 100 + (1 - m) * 100) / 2; },
  },
  {
    name: 'NodeResourcesBalancedAllocation', weight: 1,
    score: (pod, n) => { const [c, m] = fractions(pod, n); return (1 - Math.abs(c - m)) * 100; },
  },
  {
    name: 'ImageLocality', weight: 1,
    score: (pod, n) => {
      const imgs: string[] = (pod.spec?.containers ?? []).map((c: Obj) => c.image);
      if (!imgs.length) return 0;
      return (100 * imgs.filter((i) => n.images.has(i)).length) / imgs.length;
    },
  },
  {
    name: 'SelectorSpread', weight: 2,
    score: (pod, n, all) => {
      const owner = ownerOf(pod);
      if (!owner) return 0;
      const counts = all.map((x) => x.pods.filter((p) => ownerOf(p) === owner).length);
      const max = Math.max(...counts);
      if (max === 0) return 100;
      return (100 * (max - n.pods.filter((p) => ownerOf(p) === owner).length)) / max;
    },
  },
  {
    name: 'NodeAffinity', weight: 2,
    score: (pod, n) => {
      const prefs: Obj[] = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      if (!prefs.length) return 0;
      const total = prefs.reduce((s, p) => s + (p.weight ?? 0), 0);
      const got = prefs.filter((p) => p.preference && matchTerm(n.node, p.preference)).reduce((s, p) => s + (p.weight ?? 0), 0);
      return total ? (100 * got) / total : 0;
    },
  },
  {
    name: 'TaintToleration', weight: 1,
    score: (pod, n) => {
      const prefer = (n.node.spec?.taints ?? []).filter((t: Obj) => t.effect === 'PreferNoSchedule');
      const bad = prefer.filter((t: Obj) => !(pod.spec?.tolerations ?? []).some((tol: Obj) => tolerates(tol, t))).length;
      return Math.max(0, 100 - bad * 25);
    },
  },
  TOPOLOGY_SPREAD_SCORE,
  INTER_POD_AFFINITY_SCORE,
];

/** `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.` */
export function unschedulableMessage(total: number, reasons: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const r of reasons.values()) for (const part of r.split(', ')) counts.set(part, (counts.get(part) ?? 0) + 1);
  // kube-scheduler sorts the "<count> <reason>" strings themselves, byte-wise.
  const parts = [...counts].map(([r, c]) => `${c} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${total} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}
