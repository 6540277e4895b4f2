// Pod topology spread constraints, as kube-scheduler's PodTopologySpread plugin. For each
// constraint, pods of the incoming pod's namespace matching its labelSelector (plus matchLabelKeys)
// are counted per domain (value of topologyKey) over the nodes it applies to: nodes carrying every
// topology key of the pod's constraints that pass nodeAffinityPolicy (default Honor: the pod's
// nodeSelector and required node affinity) and nodeTaintsPolicy (default Ignore).
//   DoNotSchedule (filter): placing the pod in a domain may not make count + self − global minimum
//     exceed maxSkew; the minimum is 0 while there are fewer domains than minDomains.
//   ScheduleAnyway (score): fewer matching pods in a node's domain score higher, each constraint
//     weighted by log(domains + 2), normalised over the feasible nodes.
import { selectorFromLabelSelector, type Selector } from '../api/selectors.ts';
import type { KubeObject } from '../api/types.ts';
import { newCycle, type Cycle } from './cycle.ts';
import type { NodeInfo } from './node-info.ts';
import { matchesNodeSelectorAndAffinity, untolerated } from './node-match.ts';
import type { FilterPlugin, ScorePlugin } from './plugin-types.ts';

type Obj = Record<string, any>;

export const REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const REASON_NODE_LABEL_NOT_MATCH = `${REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;
const HOSTNAME = 'kubernetes.io/hostname';
const MAX_NODE_SCORE = 100;

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  selector: Selector;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorNodeTaints: boolean;
}

const NOTHING = selectorFromLabelSelector(undefined);

/** The pod's constraints as the scheduler uses them (ones without a topologyKey or maxSkew are skipped). */
export function spreadConstraints(pod: KubeObject): SpreadConstraint[] {
  const labels: Record<string, string> = pod.metadata.labels ?? {};
  const list: Obj[] = Array.isArray(pod.spec?.topologySpreadConstraints) ? pod.spec.topologySpreadConstraints : [];
  const out: SpreadConstraint[] = [];
  for (const c of list) {
    if (!c || typeof c.topologyKey !== 'string' || !c.topologyKey || !(Number(c.maxSkew) > 0)) continue;
    let selector = NOTHING;
    if (c.labelSelector && typeof c.labelSelector === 'object') {
      const extra = (Array.isArray(c.matchLabelKeys) ? c.matchLabelKeys : []).filter((k: string) => k in labels).map((k: string) => ({ key: k, operator: 'In', values: [labels[k]] }));
      try { selector = selectorFromLabelSelector({ ...c.labelSelector, matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...extra] }); } catch { /* selects nothing */ }
    }
    out.push({
      maxSkew: Number(c.maxSkew), topologyKey: c.topologyKey, hard: c.whenUnsatisfiable !== 'ScheduleAnyway', selector,
      minDomains: Number.isInteger(c.minDomains) && c.minDomains > 0 ? c.minDomains : 1,
      honorNodeAffinity: c.nodeAffinityPolicy !== 'Ignore', honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
    });
  }
  return out;
}

const nodeLabels = (n: NodeInfo): Record<string, string> => n.node.metadata.labels ?? {};
const hasAllKeys = (n: NodeInfo, cs: SpreadConstraint[]) => cs.every((c) => nodeLabels(n)[c.topologyKey] !== undefined);

/** Does the constraint count this node (its node inclusion policies)? */
function includes(c: SpreadConstraint, pod: KubeObject, n: NodeInfo): boolean {
  if (c.honorNodeAffinity && !matchesNodeSelectorAndAffinity(pod, n.node)) return false;
  if (c.honorNodeTaints && untolerated(pod, n.node.spec?.taints ?? [], ['NoSchedule', 'NoExecute'])) return false;
  return true;
}

/** Pods on the node that the constraint counts: same namespace, not being deleted, selected. */
const matching = (c: SpreadConstraint, pod: KubeObject, n: NodeInfo) => n.pods.filter((p) =>
  p.metadata.namespace === pod.metadata.namespace && !p.metadata.deletionTimestamp && c.selector.matches(p.metadata.labels)).length;

interface FilterState { constraints: SpreadConstraint[]; counts: Array<Map<string, number>> }

function filterState(pod: KubeObject, cycle: Cycle): FilterState {
  const constraints = spreadConstraints(pod).filter((c) => c.hard);
  const counts = constraints.map(() => new Map<string, number>());
  if (!constraints.length) return { constraints, counts };
  for (const n of cycle.all) {
    if (!hasAllKeys(n, constraints)) continue;
    constraints.forEach((c, i) => {
      if (!includes(c, pod, n)) return;
      const v = nodeLabels(n)[c.topologyKey];
      counts[i].set(v, (counts[i].get(v) ?? 0) + matching(c, pod, n));
    });
  }
  return { constraints, counts };
}

export const TOPOLOGY_SPREAD_FILTER: FilterPlugin = {
  name: 'PodTopologySpread',
  filter(pod, n, cycle = newCycle([n])) {
    const s = cycle.memo('PodTopologySpread/filter', () => filterState(pod, cycle));
    if (!s.constraints.length) return undefined;
    if (!hasAllKeys(n, s.constraints)) return REASON_NODE_LABEL_NOT_MATCH;
    for (const [i, c] of s.constraints.entries()) {
      const domains = s.counts[i];
      // Fewer domains than minDomains (default 1): the global minimum counts as 0.
      const min = domains.size < c.minDomains ? 0 : Math.min(...domains.values());
      const self = c.selector.matches(pod.metadata.labels) ? 1 : 0;
      const skew = (domains.get(nodeLabels(n)[c.topologyKey]) ?? 0) + self - min;
      if (skew > c.maxSkew) return REASON_CONSTRAINTS_NOT_MATCH;
    }
    return undefined;
  },
};

/** Normalised ScheduleAnyway scores for the feasible nodes. */
function scores(pod: KubeObject, cycle: Cycle): Map<string, number> {
  const constraints = spreadConstraints(pod).filter((c) => !c.hard);
  const feasible = cycle.feasible ?? cycle.all;
  const out = new Map<string, number>();
  if (!constraints.length) return out;
  const scored = feasible.filter((n) => hasAllKeys(n, constraints)); // the others get 0
  // The domains among the scored nodes, and the matching pods in each over every node.
  const domainCounts = constraints.map((c) => new Map(scored.map((n) => [nodeLabels(n)[c.topologyKey], 0])));
  for (const n of cycle.all) {
    if (!hasAllKeys(n, constraints)) continue;
    constraints.forEach((c, i) => {
      const v = nodeLabels(n)[c.topologyKey];
      if (c.topologyKey === HOSTNAME || !domainCounts[i].has(v) || !includes(c, pod, n)) return;
      domainCounts[i].set(v, domainCounts[i].get(v)! + matching(c, pod, n));
    });
  }
  const weights = constraints.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? scored.length : domainCounts[i].size) + 2));
  const raw = new Map(scored.map((n) => [n.name, Math.round(constraints.reduce((sum, c, i) => {
    const cnt = c.topologyKey === HOSTNAME ? matching(c, pod, n) : domainCounts[i].get(nodeLabels(n)[c.topologyKey]) ?? 0;
    return sum + cnt * weights[i] + (c.maxSkew - 1);
  }, 0))]));
  const values = [...raw.values()];
  const max = Math.max(0, ...values);
  const min = values.length ? Math.min(...values) : 0;
  for (const n of feasible) {
    const s = raw.get(n.name);
    out.set(n.name, s === undefined ? 0 : max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - s)) / max));
  }
  return out;
}

export const TOPOLOGY_SPREAD_SCORE: ScorePlugin = {
  name: 'PodTopologySpread', weight: 2,
  score(pod, n, all, cycle = newCycle(all)) {
    return cycle.memo('PodTopologySpread/score', () => scores(pod, cycle)).get(n.name) ?? 0;
  },
};
