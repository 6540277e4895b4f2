// ServiceAccount (plugin/pkg/admission/serviceaccount): a pod is created running as a ServiceAccount that exists —
// `default` when it names none — and, unless the pod or the ServiceAccount turns automountServiceAccountToken off
// (the pod's choice wins), with the projected volume kube-api-access-<5 chars> (a bound token the kubelet asks
// for and renews, the cluster CA from the kube-root-ca.crt ConfigMap, the namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container and init container that has nothing mounted
// there. Mirror pods are left as they are but may not use ServiceAccounts, Secrets or token projections.
import { ApiError } from '../../api/errors.ts';
import { findResource, storageKey } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../storage/store.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

type Obj = Record<string, any>;

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: an hour and 7 s, so the apiserver can tell these tokens apart. */
export const MOUNTED_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

const SA = findResource('', 'serviceaccounts')!;

/** TokenVolumeSource(): the projected volume the plugin adds. */
export function tokenVolumeSource(): Obj {
  return {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: MOUNTED_TOKEN_EXPIRATION_SECONDS, path: 'token' } },
      { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  };
}

export interface ServiceAccountPluginOptions {
  /** Lookups of `default` before giving up (the controller manager makes it right after the namespace); Kubernetes tries 10 times. */
  defaultAttempts?: number;
  retryMs?: () => number;
}

export function serviceAccountPlugin(store: Store, o: ServiceAccountPluginOptions = {}): AdmissionPlugin {
  const attempts = o.defaultAttempts ?? 10;
  const retryMs = o.retryMs ?? (() => 100 + Math.floor(Math.random() * 100));
  async function lookup(ns: string, name: string): Promise<KubeObject | undefined> {
    const n = name === DEFAULT_SERVICE_ACCOUNT ? attempts : 1;
    for (let i = 0; i < n; i++) {
      if (i) await new Promise((r) => setTimeout(r, retryMs()));
      const sa = await store.get(storageKey('/registry', SA, ns, name));
      if (sa) return sa;
    }
    return undefined;
  }
  return {
    name: 'ServiceAccount',
    async admit(attrs) {
      const { operation, info, object: pod } = attrs;
      if (operation !== 'CREATE' || info.group !== '' || info.resource !== 'pods') return;
      const spec: Obj | undefined = pod.spec && typeof pod.spec === 'object' ? pod.spec : undefined;
      if (!spec) return;
      const forbid = (why: string) => forbidden(attrs, why);
      if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return checkMirrorPod(spec, forbid);
      // The deprecated serviceAccount names the account when serviceAccountName does not (v1 conversion); both then agree.
      spec.serviceAccountName ||= spec.serviceAccount || DEFAULT_SERVICE_ACCOUNT;
      spec.serviceAccount = spec.serviceAccountName;
      const ns = attrs.namespace ?? pod.metadata.namespace ?? 'default';
      const name = String(spec.serviceAccountName);
      const sa = await lookup(ns, name);
      if (!sa) throw forbid(`error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`);
      if (shouldAutomount(sa, spec)) mountToken(spec);
      if (!spec.imagePullSecrets?.length && Array.isArray(sa.imagePullSecrets) && sa.imagePullSecrets.length) {
        spec.imagePullSecrets = sa.imagePullSecrets.map((s: Obj) => ({ name: s.name }));
      }
    },
  };
}

/** The pod's automountServiceAccountToken wins, then the ServiceAccount's; default on. */
export function shouldAutomount(sa: KubeObject, spec: Obj): boolean {
  if (typeof spec.automountServiceAccountToken === 'boolean') return spec.automountServiceAccountToken;
  const v = (sa as Obj).automountServiceAccountToken;
  return typeof v === 'boolean' ? v : true;
}

function mountToken(spec: Obj): void {
  const volumes: Obj[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(TOKEN_VOLUME_PREFIX));
  const volumeName: string = existing?.name ?? TOKEN_VOLUME_PREFIX + randomChars(5);
  let needed = false;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as Obj[]) {
    if (!c || typeof c !== 'object') continue;
    const mounts: Obj[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : (c.volumeMounts = []);
    // A container that mounts something of its own at the path keeps it.
    if (mounts.some((m) => m?.mountPath === TOKEN_MOUNT_PATH)) continue;
    mounts.push({ name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH });
    needed = true;
  }
  if (!existing && needed) spec.volumes = [...volumes, { name: volumeName, projected: tokenVolumeSource() }];
}

function checkMirrorPod(spec: Obj, forbid: (why: string) => ApiError): void {
  if (spec.serviceAccountName) throw forbid('a mirror pod may not reference service accounts');
  const containers: Obj[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  const secretRefs = (spec.imagePullSecrets ?? []).length > 0
    || (spec.volumes ?? []).some((v: Obj) => v?.secret || v?.projected?.sources?.some((s: Obj) => s?.secret))
    || containers.some((c) => (c?.env ?? []).some((e: Obj) => e?.valueFrom?.secretKeyRef) || (c?.envFrom ?? []).some((e: Obj) => e?.secretRef));
  if (secretRefs) throw forbid('a mirror pod may not reference secrets');
  if ((spec.volumes ?? []).some((v: Obj) => v?.projected?.sources?.some((s: Obj) => s?.serviceAccountToken))) {
    throw forbid('a mirror pod may not use ServiceAccountToken volume projections');
  }
}

/** admission.NewForbidden: the object's name, or its generateName before a name is made. */
function forbidden(attrs: AdmissionAttributes, why: string): ApiError {
  const name = attrs.object.metadata.name || attrs.object.metadata.generateName || 'Unknown';
  return new ApiError('Forbidden', `${attrs.info.resource} "${name}" is forbidden: ${why}`, { name, kind: attrs.info.resource });
}

function randomChars(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}
