// Inter-pod affinity and anti-affinity, as kube-scheduler's InterPodAffinity plugin: a term
// selects pods (labelSelector, plus matchLabelKeys/mismatchLabelKeys taken from the pod that
// owns the term) in some namespaces; "co-located" means on a node with the same value of the
// term's topologyKey label. The filter counts, once per pod, matching pods per topology pair:
//   - existing pods whose required anti-affinity selects the incoming pod (the symmetric check),
//   - existing pods selected by the incoming pod's required anti-affinity terms (each term),
//   - existing pods selected by all of its required affinity terms;
// the score adds preferred weights (and 1 per existing pod's required affinity term that selects
// the incoming pod), subtracts anti-affinity ones, and normalises over the feasible nodes.
import { selectorFromLabelSelector, type Selector } from '../api/selectors.ts';
import type { KubeObject } from '../api/types.ts';
import type { Cycle } from './cycle.ts';
import { newCycle } from './cycle.ts';
import type { NodeInfo } from './node-info.ts';
import type { FilterPlugin, ScorePlugin } from './plugin-types.ts';

type Obj = Record<string, any>;

export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_AFFINITY = "node(s) didn't match pod affinity rules";
/** kube-scheduler's hardPodAffinityWeight default: what an existing pod's required affinity adds to a score. */
const HARD_POD_AFFINITY_WEIGHT = 1;
const MAX_NODE_SCORE = 100;

export interface AffinityTerm {
  topologyKey: string;
  selector: Selector;
  /** Namespaces named, or the owner's own when neither these nor a namespaceSelector are given. */
  namespaces: Set<string>;
  namespaceSelector?: Selector;
  weight: number;
}

const NOTHING = selectorFromLabelSelector(undefined);

/** A PodAffinityTerm of `owner` as the scheduler uses it; undefined for one it cannot use (no topologyKey). */
export function affinityTerm(owner: KubeObject, t: Obj | undefined, weight = 1): AffinityTerm | undefined {
  if (!t || typeof t !== 'object' || typeof t.topologyKey !== 'string' || !t.topologyKey) return undefined;
  const labels: Record<string, string> = owner.metadata.labels ?? {};
  let selector = NOTHING;
  if (t.labelSelector && typeof t.labelSelector === 'object') {
    // matchLabelKeys → `key in (owner's value)`, mismatchLabelKeys → `key notin (…)`, for keys the owner has.
    const extra = [
      ...(Array.isArray(t.matchLabelKeys) ? t.matchLabelKeys : []).filter((k: string) => k in labels).map((k: string) => ({ key: k, operator: 'In', values: [labels[k]] })),
      ...(Array.isArray(t.mismatchLabelKeys) ? t.mismatchLabelKeys : []).filter((k: string) => k in labels).map((k: string) => ({ key: k, operator: 'NotIn', values: [labels[k]] })),
    ];
    try {
      selector = selectorFromLabelSelector({ ...t.labelSelector, matchExpressions: [...(t.labelSelector.matchExpressions ?? []), ...extra] });
    } catch { /* a bad operator selects nothing */ }
  }
  const named: string[] = Array.isArray(t.namespaces) ? t.namespaces.filter((n: unknown) => typeof n === 'string') : [];
  let namespaceSelector: Selector | undefined;
  if (t.namespaceSelector && typeof t.namespaceSelector === 'object') {
    try { namespaceSelector = selectorFromLabelSelector(t.namespaceSelector); } catch { namespaceSelector = NOTHING; }
  }
  const namespaces = new Set(named.length || namespaceSelector ? named : [owner.metadata.namespace ?? 'default']);
  return { topologyKey: t.topologyKey, selector, namespaces, namespaceSelector, weight };
}

/** Does `term` select `pod`? */
export function termMatches(term: AffinityTerm, pod: KubeObject, cycle: Cycle): boolean {
  const ns = pod.metadata.namespace ?? 'default';
  const inNamespace = term.namespaces.has(ns) || (!!term.namespaceSelector && term.namespaceSelector.matches(cycle.namespaceLabels(ns)));
  return inNamespace && term.selector.matches(pod.metadata.labels);
}

const terms = (owner: KubeObject, list: unknown): AffinityTerm[] =>
  (Array.isArray(list) ? list : []).map((t) => affinityTerm(owner, t)).filter((t): t is AffinityTerm => !!t);
const weightedTerms = (owner: KubeObject, list: unknown): AffinityTerm[] =>
  (Array.isArray(list) ? list : []).map((w: Obj) => affinityTerm(owner, w?.podAffinityTerm, Number(w?.weight) || 0)).filter((t): t is AffinityTerm => !!t);

// Informer objects are replaced, never mutated: a pod's parsed terms can be remembered by identity.
function cached(parse: (p: KubeObject) => AffinityTerm[]): (p: KubeObject) => AffinityTerm[] {
  const cache = new WeakMap<KubeObject, AffinityTerm[]>();
  const none: AffinityTerm[] = [];
  return (p) => {
    if (!p.spec?.affinity) return none;
    let t = cache.get(p);
    if (!t) cache.set(p, t = parse(p));
    return t;
  };
}
const requiredAffinity = cached((p) => terms(p, p.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution));
const requiredAntiAffinity = cached((p) => terms(p, p.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution));
const preferredAffinity = cached((p) => weightedTerms(p, p.spec?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution));
const preferredAntiAffinity = cached((p) => weightedTerms(p, p.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution));

const pair = (key: string, value: string) => `${key}\0${value}`;
const nodeLabels = (n: NodeInfo): Record<string, string> => n.node.metadata.labels ?? {};

class PairCounts extends Map<string, number> {
  add(n: NodeInfo, key: string, by: number): void {
    const v = nodeLabels(n)[key];
    if (v !== undefined) this.set(pair(key, v), (this.get(pair(key, v)) ?? 0) + by);
  }
  at(key: string, value: string | undefined): number { return value === undefined ? 0 : this.get(pair(key, value)) ?? 0; }
}

interface FilterState {
  affinity: AffinityTerm[];
  antiAffinity: AffinityTerm[];
  affinityCounts: PairCounts;
  antiAffinityCounts: PairCounts;
  existingAntiAffinityCounts: PairCounts;
}

function filterState(pod: KubeObject, cycle: Cycle): FilterState {
  const s: FilterState = {
    affinity: requiredAffinity(pod), antiAffinity: requiredAntiAffinity(pod),
    affinityCounts: new PairCounts(), antiAffinityCounts: new PairCounts(), existingAntiAffinityCounts: new PairCounts(),
  };
  const own = s.affinity.length > 0 || s.antiAffinity.length > 0;
  for (const n of cycle.all) {
    // Every pod for the incoming pod's own terms; only pods with terms for the symmetric check.
    for (const existing of own ? n.pods : []) {
      if (s.affinity.length && s.affinity.every((t) => termMatches(t, existing, cycle))) for (const t of s.affinity) s.affinityCounts.add(n, t.topologyKey, 1);
      for (const t of s.antiAffinity) if (termMatches(t, existing, cycle)) s.antiAffinityCounts.add(n, t.topologyKey, 1);
    }
    for (const existing of n.podsWithAffinity) {
      for (const t of requiredAntiAffinity(existing)) if (termMatches(t, pod, cycle)) s.existingAntiAffinityCounts.add(n, t.topologyKey, 1);
    }
  }
  return s;
}

export const INTER_POD_AFFINITY_FILTER: FilterPlugin = {
  name: 'InterPodAffinity',
  filter(pod, n, cycle = newCycle([n])) {
    const s = cycle.memo('InterPodAffinity/filter', () => filterState(pod, cycle));
    const labels = nodeLabels(n);
    // kube-scheduler's order: the pod's affinity, its anti-affinity, then the existing pods'.
    if (s.affinity.length) {
      // Every topology key must be on the node.
      if (s.affinity.some((t) => labels[t.topologyKey] === undefined)) return REASON_AFFINITY;
      if (s.affinity.some((t) => s.affinityCounts.at(t.topologyKey, labels[t.topologyKey]) <= 0)) {
        // The first pod of a group with affinity to itself: nothing anywhere matches yet, and it matches its own terms.
        const first = s.affinityCounts.size === 0 && s.affinity.every((t) => termMatches(t, pod, cycle));
        if (!first) return REASON_AFFINITY;
      }
    }
    if (s.antiAffinity.some((t) => s.antiAffinityCounts.at(t.topologyKey, labels[t.topologyKey]) > 0)) return REASON_ANTI_AFFINITY;
    if (s.existingAntiAffinityCounts.size && Object.entries(labels).some(([k, v]) => s.existingAntiAffinityCounts.at(k, v) > 0)) return REASON_EXISTING_ANTI_AFFINITY;
    return undefined;
  },
};

/** Raw scores per topology pair from the incoming pod's preferences and the existing pods' terms about it. */
function scoreState(pod: KubeObject, cycle: Cycle): PairCounts {
  const scores = new PairCounts();
  const prefer = preferredAffinity(pod);
  const avoid = preferredAntiAffinity(pod);
  const own = prefer.length > 0 || avoid.length > 0;
  for (const n of cycle.all) {
    for (const existing of own ? n.pods : []) {
      for (const t of prefer) if (termMatches(t, existing, cycle)) scores.add(n, t.topologyKey, t.weight);
      for (const t of avoid) if (termMatches(t, existing, cycle)) scores.add(n, t.topologyKey, -t.weight);
    }
    for (const existing of n.podsWithAffinity) {
      for (const t of requiredAffinity(existing)) if (termMatches(t, pod, cycle)) scores.add(n, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
      for (const t of preferredAffinity(existing)) if (termMatches(t, pod, cycle)) scores.add(n, t.topologyKey, t.weight);
      for (const t of preferredAntiAffinity(existing)) if (termMatches(t, pod, cycle)) scores.add(n, t.topologyKey, -t.weight);
    }
  }
  return scores;
}

export const INTER_POD_AFFINITY_SCORE: ScorePlugin = {
  name: 'InterPodAffinity', weight: 2,
  score(pod, n, all, cycle = newCycle(all)) {
    const normalised = cycle.memo('InterPodAffinity/score', () => {
      const pairs = scoreState(pod, cycle);
      const nodes = cycle.feasible ?? cycle.all;
      const raw = new Map(nodes.map((x) => [x.name, Object.entries(nodeLabels(x)).reduce((sum, [k, v]) => sum + pairs.at(k, v), 0)]));
      const values = [...raw.values()];
      const min = Math.min(...values);
      const spread = Math.max(...values) - min;
      return new Map([...raw].map(([name, s]) => [name, spread > 0 ? Math.trunc((MAX_NODE_SCORE * (s - min)) / spread) : 0]));
    });
    return normalised.get(n.name) ?? 0;
  },
};
