// What the PV controller, the scheduler's volume-binding filter and the kubelet all need to know about claims and
// volumes: which claims a pod uses, which volume fits a claim (pkg/controller/volume/persistentvolume/index.go's
// findBestMatchForClaim: class, mode, access modes, selector, the smallest capacity that fits, pre-binding first),
// whether a volume's node affinity admits a node, and the annotations the three share.
import { parseQuantity } from './quantity.ts';
import { selectorFromLabelSelector } from './selectors.ts';
import type { KubeObject } from './types.ts';

type Obj = Record<string, any>;

export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
export const STORAGE_PROVISIONER_ANNOTATION = 'volume.kubernetes.io/storage-provisioner';
export const BIND_COMPLETED_ANNOTATION = 'pv.kubernetes.io/bind-completed';
export const BOUND_BY_CONTROLLER_ANNOTATION = 'pv.kubernetes.io/bound-by-controller';
export const LOCAL_PATH_PROVISIONER = 'kubemu.io/local-path';

/** The claim names a pod's volumes use: persistentVolumeClaim.claimName, and `<pod>-<volume>` for ephemeral volumes. */
export function podClaimNames(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of (pod.spec?.volumes ?? []) as Obj[]) {
    if (v?.persistentVolumeClaim?.claimName) out.push(String(v.persistentVolumeClaim.claimName));
    else if (v?.ephemeral) out.push(`${pod.metadata.name}-${v.name}`);
  }
  return out;
}

/** The class a claim asks for ('' = none). */
export const claimClass = (c: KubeObject): string => c.spec?.storageClassName ?? '';
export const volumeClass = (v: KubeObject): string => v.spec?.storageClassName ?? '';
export const requestBytes = (c: KubeObject): number => parseQuantity(c.spec?.resources?.requests?.storage) ?? 0;
export const capacityBytes = (v: KubeObject): number => parseQuantity(v.spec?.capacity?.storage) ?? 0;

/** A volume pre-bound (spec.claimRef) to exactly this claim. */
export const preBoundTo = (v: KubeObject, c: KubeObject): boolean => {
  const ref = v.spec?.claimRef;
  return Boolean(ref && ref.name === c.metadata.name && (ref.namespace ?? 'default') === c.metadata.namespace && (!ref.uid || ref.uid === c.metadata.uid));
};

/** Why a volume cannot serve a claim, or undefined when it can. */
export function volumeMismatch(v: KubeObject, c: KubeObject): string | undefined {
  if (v.metadata.deletionTimestamp) return 'being deleted';
  if (v.spec?.claimRef && !preBoundTo(v, c)) return 'bound to another claim';
  if (c.spec?.volumeName && c.spec.volumeName !== v.metadata.name) return 'the claim names another volume';
  if (volumeClass(v) !== claimClass(c)) return 'another storage class';
  if ((v.spec?.volumeMode ?? 'Filesystem') !== (c.spec?.volumeMode ?? 'Filesystem')) return 'another volume mode';
  const modes: string[] = v.spec?.accessModes ?? [];
  if (!(c.spec?.accessModes ?? []).every((m: string) => modes.includes(m))) return 'access modes';
  if (capacityBytes(v) < requestBytes(c)) return 'too small';
  if (c.spec?.selector && !selectorFromLabelSelector(c.spec.selector).matches(v.metadata.labels)) return 'selector';
  return undefined;
}

/** The volume to bind a claim to: one pre-bound to it, else the smallest that fits (ties by name). */
export function findBestVolume(c: KubeObject, volumes: KubeObject[], node?: KubeObject): KubeObject | undefined {
  const fits = volumes.filter((v) => volumeMismatch(v, c) === undefined && (!node || volumeNodeMatches(v, node)) && (v.status?.phase ?? 'Available') !== 'Released' && v.status?.phase !== 'Failed');
  const pre = fits.find((v) => preBoundTo(v, c));
  if (pre) return pre;
  return fits.filter((v) => !v.spec?.claimRef).sort((a, b) => capacityBytes(a) - capacityBytes(b) || a.metadata.name!.localeCompare(b.metadata.name!))[0];
}

function matchRequirement(r: Obj, value: string | undefined): boolean {
  const values: string[] = r.values ?? [];
  switch (r.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt': return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt': return value !== undefined && Number(value) < Number(values[0]);
    default: return false;
  }
}

/** A volume's spec.nodeAffinity.required admits the node (no affinity: every node). */
export function volumeNodeMatches(v: KubeObject, node: KubeObject): boolean {
  const terms: Obj[] | undefined = v.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms?.length) return true;
  const labels = node.metadata.labels ?? {};
  return terms.some((t) => {
    const exprs: Obj[] = t.matchExpressions ?? [];
    const fields: Obj[] = t.matchFields ?? [];
    if (!exprs.length && !fields.length) return false;
    return exprs.every((r) => matchRequirement(r, labels[r.key])) && fields.every((r) => matchRequirement(r, r.key === 'metadata.name' ? node.metadata.name : undefined));
  });
}

/** The node a volume is pinned to by a single kubernetes.io/hostname term (how local-path volumes are made). */
export function volumeNodeName(v: KubeObject): string | undefined {
  const terms: Obj[] | undefined = v.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  const r = terms?.length === 1 ? (terms[0].matchExpressions ?? []).find((e: Obj) => e.key === 'kubernetes.io/hostname' && e.operator === 'In') : undefined;
  return r?.values?.length === 1 ? r.values[0] : undefined;
}

/** A volume's host path: hostPath.path or local.path. */
export const volumeHostPath = (v: KubeObject): string | undefined => v.spec?.hostPath?.path ?? v.spec?.local?.path;
