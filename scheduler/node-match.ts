// Does a pod fit a node's labels and taints: tolerations, nodeSelector and node affinity terms,
// with kube-scheduler's semantics (shared by the filters, topology spread's node inclusion
// policies and the DaemonSet controller).
import type { KubeObject } from '../api/types.ts';

type Obj = Record<string, any>;

// ---- tolerations and taints ---------------------------------------------------------------

export function tolerates(toleration: Obj, taint: Obj): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (!toleration.key) return toleration.operator === 'Exists'; // empty key + Exists tolerates everything
  if (toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

export const untolerated = (pod: KubeObject, taints: Obj[], effects: string[]) =>
  taints.find((t) => effects.includes(t.effect) && !(pod.spec?.tolerations ?? []).some((tol: Obj) => tolerates(tol, t)));

/** Taints a node effectively has: its own, plus not-ready when its Ready condition is not True
 *  (what the node lifecycle controller would add; kubemu's controller manager is not there yet). */
export function effectiveTaints(node: KubeObject): Obj[] {
  const taints: Obj[] = [...(node.spec?.taints ?? [])];
  const ready = (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
  const key = !ready || ready.status === 'Unknown' ? 'node.kubernetes.io/unreachable' : ready.status !== 'True' ? 'node.kubernetes.io/not-ready' : undefined;
  if (key && !taints.some((t) => t.key === key)) taints.push({ key, effect: 'NoSchedule' });
  return taints;
}

// ---- node affinity ------------------------------------------------------------------------

function matchExpression(labels: Record<string, string>, e: Obj): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, e.key);
  const v = labels[e.key];
  switch (e.operator) {
    case 'In': return has && (e.values ?? []).includes(v);
    case 'NotIn': return !has || !(e.values ?? []).includes(v);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt': return has && Number(v) > Number(e.values?.[0]);
    case 'Lt': return has && Number(v) < Number(e.values?.[0]);
    default: return false;
  }
}

/** A NodeSelectorTerm: all its expressions match (matchFields supports metadata.name). */
export function matchTerm(node: KubeObject, term: Obj): boolean {
  const labels = node.metadata.labels ?? {};
  const exprs: Obj[] = term.matchExpressions ?? [];
  const fields: Obj[] = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return exprs.every((e) => matchExpression(labels, e)) && fields.every((f) => matchExpression({ 'metadata.name': node.metadata.name! }, f));
}

export function matchesNodeSelectorAndAffinity(pod: KubeObject, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((pod.spec?.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required?.nodeSelectorTerms?.length) return (required.nodeSelectorTerms as Obj[]).some((t) => matchTerm(node, t));
  return true;
}
