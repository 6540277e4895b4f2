// kube-scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding), with its reasons:
//   PreFilter — a claim that is missing, being deleted, or unbound with Immediate binding keeps the pod Pending on
//               every node (`pod has unbound immediate PersistentVolumeClaims`);
//   Filter    — a bound claim's volume must admit the node (`node(s) had volume node affinity conflict`); an unbound
//               WaitForFirstConsumer claim needs a static volume usable there or a provisioner that can provision
//               there (`node(s) didn't find available persistent volumes to bind`);
//   PreBind   — the chosen node goes onto each unbound WaitForFirstConsumer claim as volume.kubernetes.io/selected-node,
//               which is what the PV controller provisions or binds for.
import { LOCAL_PATH_PROVISIONER, SELECTED_NODE_ANNOTATION, claimClass, findBestVolume, podClaimNames, volumeNodeMatches } from '../api/storage.ts';
import type { KubeObject } from '../api/types.ts';
import type { Cycle, StorageView } from './cycle.ts';

export type { StorageView } from './cycle.ts';
import type { FilterPlugin } from './plugin-types.ts';


const isWaitForFirstConsumer = (c: KubeObject, view: StorageView) => {
  const sc = claimClass(c) ? view.storageClass(claimClass(c)) : undefined;
  return (sc as any)?.volumeBindingMode === 'WaitForFirstConsumer';
};

/** The pod's claims, or the PreFilter's message when the pod cannot be placed anywhere. */
export function volumePreFilter(pod: KubeObject, view: StorageView | undefined): string | undefined {
  if (!view) return undefined;
  const ns = pod.metadata.namespace ?? 'default';
  for (const name of podClaimNames(pod)) {
    const c = view.claim(ns, name);
    if (!c) return `persistentvolumeclaim "${name}" not found`;
    if (c.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
  }
  const unboundImmediate = podClaimNames(pod).some((name) => {
    const c = view.claim(ns, name)!;
    return !c.spec?.volumeName && !isWaitForFirstConsumer(c, view);
  });
  return unboundImmediate ? 'pod has unbound immediate PersistentVolumeClaims' : undefined;
}

export const VOLUME_BINDING_FILTER: FilterPlugin = {
  name: 'VolumeBinding',
  filter(pod, n, cycle?: Cycle) {
    const view = cycle?.storage;
    if (!view) return undefined;
    const ns = pod.metadata.namespace ?? 'default';
    for (const name of podClaimNames(pod)) {
      const c = view.claim(ns, name);
      if (!c) continue; // PreFilter's to report
      if (c.spec?.volumeName) {
        const v = view.volume(c.spec.volumeName);
        if (v && !volumeNodeMatches(v, n.node)) return 'node(s) had volume node affinity conflict';
        continue;
      }
      const selected = c.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
      if (selected && selected !== n.name) return 'node(s) had volume node affinity conflict';
      if (findBestVolume(c, view.volumes(), n.node)) continue;
      const sc = view.storageClass(claimClass(c));
      const provisioner = (sc as any)?.provisioner;
      const canProvision = provisioner && (provisioner !== LOCAL_PATH_PROVISIONER || n.node.metadata.annotations?.['kubemu.io/local-path-dir']);
      if (!canProvision) return "node(s) didn't find available persistent volumes to bind";
    }
    return undefined;
  },
};

/** PreBind: the claims to annotate with the chosen node. */
export function claimsToSelect(pod: KubeObject, view: StorageView | undefined): KubeObject[] {
  if (!view) return [];
  const ns = pod.metadata.namespace ?? 'default';
  return podClaimNames(pod).map((name) => view.claim(ns, name)).filter((c): c is KubeObject =>
    Boolean(c && !c.spec?.volumeName && isWaitForFirstConsumer(c, view)));
}
