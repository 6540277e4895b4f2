// The PersistentVolume controller (pkg/controller/volume/persistentvolume, with the pvc-protection and pv-protection
// controllers and the kubemu.io/local-path provisioner folded in). One queue of keys `claim:<ns>/<name>` and
// `volume:<name>`, one reconcile:
//   a claim — bound to the smallest fitting volume (or the one pre-bound to it), else provisioned when its class's
//     provisioner is kubemu.io/local-path (WaitForFirstConsumer: once the scheduler has set selected-node), else left
//     Pending with Kubernetes' event; a bound claim whose volume is gone is Lost; a grown request on a class that
//     allows expansion is applied; a deleted claim keeps kubernetes.io/pvc-protection while a pod uses it.
//   a volume — Available, Bound, or Released once its claim is gone; then Retain keeps it, Delete removes it (for a
//     local-path volume after a helper pod on its node has removed the directory, as rancher's local-path-provisioner
//     does; a static volume with Delete is Failed: kubemu has no deleter for it); kubernetes.io/pv-protection stays
//     while it is Bound.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isNotFound } from '../../api/errors.ts';
import {
  BIND_COMPLETED_ANNOTATION, BOUND_BY_CONTROLLER_ANNOTATION, LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION, SELECTED_NODE_ANNOTATION,
  STORAGE_PROVISIONER_ANNOTATION, claimClass, findBestVolume, podClaimNames, requestBytes, volumeHostPath, volumeNodeName,
} from '../../api/storage.ts';
import { parseQuantity } from '../../api/quantity.ts';
import type { KubeObject } from '../../api/types.ts';
import { recordEvent } from '../../client/events.ts';
import { keyOf } from '../../client/informer.ts';
import { newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
const PV_PROTECTION = 'kubernetes.io/pv-protection';
/** Set on a node by its kubelet: the directory its local-path volumes live in. */
const LOCAL_PATH_DIR_ANNOTATION = 'kubemu.io/local-path-dir';
const HELPER_NAMESPACE = 'kube-system';
export const HELPER_IMAGE = 'kubemu/busybox:1';
const source = { component: 'persistentvolume-controller' };

const isTerminated = (p: KubeObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
export const helperPodName = (pv: string) => `helper-pod-delete-${pv}`.slice(0, 63);

export function newPersistentVolumeController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const claims = ctx.informers.get('persistentvolumeclaims');
  const volumes = ctx.informers.get('persistentvolumes');
  const classes = ctx.informers.get('storageclasses');
  const pods = ctx.informers.get('pods');
  const nodes = ctx.informers.get('nodes');
  const queue = newQueue();
  const event = (o: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => recordEvent(client, logger, source, o, type, reason, message);
  /** Volumes a worker is binding right now, by the claim it binds them to. */
  const reserved = new Map<string, string>();
  /** What a claim was last told, so a level-triggered resync does not repeat the same event. */
  const told = new Map<string, string>();
  const tell = (c: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const k = keyOf(c);
    if (told.get(k) === reason + message) return;
    told.set(k, reason + message);
    event({ ...c, kind: 'PersistentVolumeClaim', apiVersion: 'v1' }, type, reason, message);
  };

  const claimKey = (ns: string | undefined, name: string) => `claim:${ns ?? 'default'}/${name}`;
  claims.addHandlers({
    onAdd: (c) => queue.add(claimKey(c.metadata.namespace, c.metadata.name!)),
    onUpdate: (_o, c) => queue.add(claimKey(c.metadata.namespace, c.metadata.name!)),
    onDelete: (c) => { told.delete(keyOf(c)); if (c.spec?.volumeName) queue.add(`volume:${c.spec.volumeName}`); },
  });
  const onVolume = (v: KubeObject) => {
    queue.add(`volume:${v.metadata.name}`);
    const ref = v.spec?.claimRef;
    if (ref?.name) queue.add(claimKey(ref.namespace, ref.name));
  };
  volumes.addHandlers({ onAdd: onVolume, onUpdate: (_o, v) => onVolume(v), onDelete: (v) => { onVolume(v); for (const c of claims.list()) if (!c.spec?.volumeName) queue.add(claimKey(c.metadata.namespace, c.metadata.name!)); } });
  const pendingClaims = () => { for (const c of claims.list()) if (c.status?.phase !== 'Bound') queue.add(claimKey(c.metadata.namespace, c.metadata.name!)); };
  classes.addHandlers({ onAdd: pendingClaims, onUpdate: pendingClaims });
  // A pod going away may release a terminating claim; a helper pod finishing lets its volume go.
  const onPod = (p: KubeObject) => {
    for (const n of podClaimNames(p)) queue.add(claimKey(p.metadata.namespace, n));
    const m = /^helper-pod-delete-(.+)$/.exec(p.metadata.name ?? '');
    if (m && p.metadata.namespace === HELPER_NAMESPACE) queue.add(`volume:${m[1]}`);
  };
  pods.addHandlers({ onAdd: onPod, onUpdate: (_o, p) => onPod(p), onDelete: onPod });

  const inUse = (c: KubeObject) => pods.list().some((p) => p.metadata.namespace === c.metadata.namespace && !isTerminated(p) && podClaimNames(p).includes(c.metadata.name!));

  async function removeFinalizer(res: typeof R.persistentvolumes, o: KubeObject, f: string): Promise<void> {
    const finalizers = (o.metadata.finalizers ?? []).filter((x) => x !== f);
    await client.patch(res, o.metadata.namespace, o.metadata.name!, { metadata: { resourceVersion: o.metadata.resourceVersion, finalizers: finalizers.length ? finalizers : null } })
      .catch((err) => { if (!isNotFound(err)) throw err; });
  }

  async function setClaimStatus(c: KubeObject, status: Record<string, unknown>): Promise<void> {
    await client.patch(R.persistentvolumeclaims, c.metadata.namespace, c.metadata.name!, { status }, { subresource: 'status' });
  }
  async function setVolumeStatus(v: KubeObject, phase: string, message?: string): Promise<void> {
    if (v.status?.phase === phase && (v.status?.message ?? undefined) === message) return;
    await client.patch(R.persistentvolumes, undefined, v.metadata.name!, { status: { phase, message: message ?? null, lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } }, { subresource: 'status' });
  }

  /** Bind volume and claim both ways (bindVolumeToClaim, then bindClaimToVolume, then the claim's status). */
  async function bind(c: KubeObject, v: KubeObject): Promise<void> {
    const ref = v.spec?.claimRef;
    if (!ref?.uid) {
      await client.patch(R.persistentvolumes, undefined, v.metadata.name!, {
        metadata: { resourceVersion: v.metadata.resourceVersion, annotations: { [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' } },
        spec: { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion } },
      });
    }
    await setVolumeStatus(v, 'Bound');
    const byController = c.spec?.volumeName ? {} : { [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' };
    await client.patch(R.persistentvolumeclaims, c.metadata.namespace, c.metadata.name!, {
      metadata: { annotations: { [BIND_COMPLETED_ANNOTATION]: 'yes', ...byController } }, spec: { volumeName: v.metadata.name },
    });
    await setClaimStatus(c, { phase: 'Bound', capacity: v.spec?.capacity, accessModes: v.spec?.accessModes });
    logger.info({ claim: keyOf(c), volume: v.metadata.name }, 'claim bound');
  }

  /** The local-path provisioner: a PV for the claim on one node, pre-bound to it. */
  async function provision(c: KubeObject, sc: KubeObject, nodeName: string): Promise<void> {
    const node = nodes.get(nodeName);
    const dir = node?.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION];
    if (!dir) {
      tell(c, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata.name}": node "${nodeName}" ${node ? `has no ${LOCAL_PATH_DIR_ANNOTATION} annotation (its kubelet predates local-path volumes)` : 'not found'}`);
      return;
    }
    const name = `pvc-${c.metadata.uid}`;
    tell(c, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${c.metadata.namespace}/${c.metadata.name}"`);
    const pv: KubeObject = {
      apiVersion: 'v1', kind: 'PersistentVolume',
      metadata: { name, annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER, [SELECTED_NODE_ANNOTATION]: nodeName } },
      spec: {
        capacity: { storage: c.spec.resources.requests.storage }, accessModes: c.spec.accessModes, volumeMode: c.spec.volumeMode ?? 'Filesystem',
        persistentVolumeReclaimPolicy: (sc as any).reclaimPolicy ?? 'Delete', storageClassName: sc.metadata.name, mountOptions: (sc as any).mountOptions,
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion },
        local: { path: path.posix.join(dir, name) },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
      },
    };
    const made = await client.create(R.persistentvolumes, undefined, pv).catch((err) => { if ((err as { code?: string }).code === 'AlreadyExists') return undefined; throw err; });
    if (!made) return;
    tell(c, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${name}`);
    logger.info({ claim: keyOf(c), volume: name, node: nodeName }, 'volume provisioned');
    await bind(c, made);
  }

  /** For Immediate binding: the Ready node with the fewest local-path volumes. */
  function pickNode(): string | undefined {
    const ready = nodes.list().filter((n) => !n.spec?.unschedulable && n.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION]
      && (n.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True'));
    const count = (n: string) => volumes.list().filter((v) => volumeNodeName(v) === n).length;
    return ready.map((n) => n.metadata.name!).sort((a, b) => count(a) - count(b) || a.localeCompare(b))[0];
  }

  async function syncClaim(ns: string, name: string): Promise<void> {
    const c = claims.get(name, ns);
    if (!c) return;
    if (c.metadata.deletionTimestamp) {
      if (c.metadata.finalizers?.includes(PVC_PROTECTION) && !inUse(c)) await removeFinalizer(R.persistentvolumeclaims, c, PVC_PROTECTION);
      return;
    }
    if (c.spec?.volumeName) {
      const v = volumes.get(c.spec.volumeName);
      if (!v) {
        if (c.status?.phase === 'Bound') { await setClaimStatus(c, { phase: 'Lost' }); tell(c, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!'); }
        return;
      }
      if (v.spec?.claimRef?.uid && v.spec.claimRef.uid !== c.metadata.uid) {
        tell(c, 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
        return;
      }
      if (c.status?.phase !== 'Bound' || !v.spec?.claimRef?.uid) { await bind(c, v); return; }
      await resize(c, v);
      return;
    }
    const className = claimClass(c);
    const sc = className ? classes.get(className) : undefined;
    const mode = (sc as any)?.volumeBindingMode ?? 'Immediate';
    const selected = c.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (mode === 'WaitForFirstConsumer' && !selected) {
      tell(c, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      return;
    }
    const selectedNode = selected ? nodes.get(selected) : undefined;
    // Choosing and reserving happen with no await between them, so two workers never pick the same volume.
    const me = keyOf(c);
    const v = findBestVolume(c, volumes.list().filter((x) => (reserved.get(x.metadata.name!) ?? me) === me), selectedNode);
    if (v) {
      reserved.set(v.metadata.name!, me);
      try { await bind(c, v); } finally { reserved.delete(v.metadata.name!); }
      return;
    }
    if (!className) { tell(c, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set'); return; }
    if (!sc) { tell(c, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`); return; }
    const provisioner = (sc as any).provisioner;
    if (provisioner !== LOCAL_PATH_PROVISIONER) {
      if (c.metadata.annotations?.[STORAGE_PROVISIONER_ANNOTATION] !== provisioner) {
        await client.patch(R.persistentvolumeclaims, ns, name, { metadata: { annotations: { [STORAGE_PROVISIONER_ANNOTATION]: provisioner, 'volume.beta.kubernetes.io/storage-provisioner': provisioner } } });
      }
      tell(c, 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
      return;
    }
    const nodeName = selected ?? pickNode();
    if (!nodeName) { tell(c, 'Warning', 'ProvisioningFailed', 'failed to provision volume: no Ready node to put it on'); return; }
    await provision(c, sc, nodeName);
  }

  /** Expansion of a bound claim: a local-path volume has no size of its own, so the new size is taken at once. */
  async function resize(c: KubeObject, v: KubeObject): Promise<void> {
    const want = requestBytes(c);
    const have = parseQuantity(c.status?.capacity?.storage) ?? 0;
    if (want <= have) return;
    const sc = classes.get(claimClass(c));
    if (!(sc as any)?.allowVolumeExpansion || v.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER) return;
    const storage = c.spec.resources.requests.storage;
    await client.patch(R.persistentvolumes, undefined, v.metadata.name!, { spec: { capacity: { storage } } });
    await setClaimStatus(c, { capacity: { storage } });
    tell(c, 'Normal', 'VolumeResizeSuccessful', `resize volume "${v.metadata.name}" by resizer "${LOCAL_PATH_PROVISIONER}" succeeded`);
  }

  async function syncVolume(name: string): Promise<void> {
    const v = volumes.get(name);
    if (!v) return;
    const ref = v.spec?.claimRef;
    const c = ref?.name ? claims.get(ref.name, ref.namespace ?? 'default') : undefined;
    const claimGone = ref?.uid && (!c || c.metadata.uid !== ref.uid);
    if (v.metadata.deletionTimestamp) {
      if (v.metadata.finalizers?.includes(PV_PROTECTION) && (v.status?.phase !== 'Bound' || claimGone)) await removeFinalizer(R.persistentvolumes, v, PV_PROTECTION);
      return;
    }
    if (!ref) { await setVolumeStatus(v, 'Available'); return; }
    if (!claimGone) {
      // Pre-bound and waiting for its claim (no uid yet), or bound.
      await setVolumeStatus(v, ref.uid && c?.spec?.volumeName === name ? 'Bound' : ref.uid ? v.status?.phase ?? 'Bound' : 'Available');
      return;
    }
    // The claim is gone: reclaim.
    const policy = v.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') {
      await setVolumeStatus(v, 'Released');
      event({ ...v, kind: 'PersistentVolume', apiVersion: 'v1' }, 'Normal', 'VolumeReleased', `claim ${ref.namespace}/${ref.name} was deleted: volume released (reclaim policy ${policy})`);
    }
    if (policy !== 'Delete' || v.status?.phase === 'Failed') return;
    if (v.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER) {
      await setVolumeStatus(v, 'Failed', 'error getting deleter volume plugin for volume "' + name + '": no deletable volume plugin matched');
      event({ ...v, kind: 'PersistentVolume', apiVersion: 'v1' }, 'Warning', 'VolumeFailedDelete', `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched`);
      return;
    }
    await deleteLocalPath(v);
  }

  /** Delete reclaim of a local-path volume: a helper pod on its node removes the directory, then the PV goes. */
  async function deleteLocalPath(v: KubeObject): Promise<void> {
    const name = v.metadata.name!;
    const node = volumeNodeName(v);
    const dir = volumeHostPath(v);
    const helper = pods.get(helperPodName(name), HELPER_NAMESPACE);
    const deletePV = async () => {
      if (v.metadata.finalizers?.includes(PV_PROTECTION)) await removeFinalizer(R.persistentvolumes, v, PV_PROTECTION);
      await client.delete(R.persistentvolumes, undefined, name).catch((err) => { if (!isNotFound(err)) throw err; });
      logger.info({ volume: name, dir }, 'volume deleted');
    };
    if (!node || !dir || !nodes.get(node)) {
      // The node is gone, and its disk with it: nothing left to clean.
      await deletePV();
      return;
    }
    if (!helper) {
      const parent = path.posix.dirname(dir);
      await client.create(R.pods, HELPER_NAMESPACE, {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: helperPodName(name), namespace: HELPER_NAMESPACE, labels: { 'app.kubernetes.io/name': 'local-path-helper' }, annotations: { 'kubemu.io/helper-for': name, 'kubemu.io/helper-id': randomUUID() } },
        spec: {
          nodeName: node, restartPolicy: 'Never', terminationGracePeriodSeconds: 0,
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'delete', image: HELPER_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['rm', '-rf', `/volumes/${path.posix.basename(dir)}`], volumeMounts: [{ name: 'volumes', mountPath: '/volumes' }] }],
          volumes: [{ name: 'volumes', hostPath: { path: parent, type: 'DirectoryOrCreate' } }],
        },
      }).catch((err) => { if ((err as { code?: string }).code !== 'AlreadyExists') throw err; });
      return;
    }
    if (helper.status?.phase === 'Succeeded') {
      await client.delete(R.pods, HELPER_NAMESPACE, helper.metadata.name!, { gracePeriodSeconds: 0 }).catch((err) => { if (!isNotFound(err)) throw err; });
      await deletePV();
    } else if (helper.status?.phase === 'Failed') {
      await client.delete(R.pods, HELPER_NAMESPACE, helper.metadata.name!, { gracePeriodSeconds: 0 }).catch((err) => { if (!isNotFound(err)) throw err; });
      await setVolumeStatus(v, 'Failed', `the helper pod could not remove ${dir} on node ${node}`);
      event({ ...v, kind: 'PersistentVolume', apiVersion: 'v1' }, 'Warning', 'VolumeFailedDelete', `the helper pod could not remove ${dir} on node ${node}`);
    }
  }

  async function reconcile(key: string): Promise<void> {
    if (key.startsWith('volume:')) return syncVolume(key.slice('volume:'.length));
    const rest = key.slice('claim:'.length);
    const i = rest.indexOf('/');
    return syncClaim(rest.slice(0, i), rest.slice(i + 1));
  }

  // Several workers (provisioning many claims at once); `reserved` keeps two claims off the same volume, and the
  // claimRef write is conditional on the volume's resourceVersion besides.
  return { name: 'persistentvolume-binder', queue, reconcile, workers: 4 };
}
