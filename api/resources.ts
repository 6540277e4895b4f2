// The table of every resource kubemu serves. Discovery, the registry, etcd keys, the REST
// router, the gRPC service and the clients all read it, so a resource is added in one place.

export interface ResourceInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  /** Plural, lower case: the URL segment and the etcd key segment. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served, e.g. ['status', 'scale']. */
  subresources: string[];
  /** The verbs served when not all of STANDARD_VERBS (TokenReview: create only). */
  verbs?: string[];
  /** A kind a CustomResourceDefinition serves (apiserver/crd/): its schema, columns and subresource paths. */
  custom?: CustomKind;
}

/** What a CustomResourceDefinition says about one served version of its kind. */
export interface CustomKind {
  /** The CRD's name, <plural>.<group>. */
  crd: string;
  /** The version objects are stored in (apiVersion of what etcd holds). */
  storageVersion: string;
  /** The version's structural schema (openAPIV3Schema), already checked. */
  schema: Record<string, any>;
  printerColumns: Array<{ name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }>;
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  deprecationWarning?: string;
  selectableFields: string[];
  /** The CRD is being deleted: its objects can be read and deleted, not created. */
  terminating?: boolean;
}

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const r = (
  group: string, version: string, kind: string, resource: string, namespaced: boolean,
  opts: { shortNames?: string[]; categories?: string[]; subresources?: string[]; verbs?: string[] } = {},
): ResourceInfo => ({
  group, version, kind, resource, singular: kind.toLowerCase(), namespaced,
  shortNames: opts.shortNames ?? [], categories: opts.categories ?? [], subresources: opts.subresources ?? [],
  ...(opts.verbs ? { verbs: opts.verbs } : {}),
});

/** Built-in kinds first; the kinds of established CustomResourceDefinitions are added and removed at run time
 *  (setCustomKinds), in place, so every reader sees them. */
export const RESOURCES: ResourceInfo[] = [
  r('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: ['status', 'finalize'] }),
  r('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], subresources: ['status', 'proxy'] }),
  r('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'], categories: ['all'],
    subresources: ['status', 'binding', 'log', 'exec', 'portforward', 'attach', 'eviction', 'proxy', 'ephemeralcontainers'],
  }),
  r('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: ['status', 'proxy'] }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('', 'v1', 'ReplicationController', 'replicationcontrollers', true, {
    shortNames: ['rc'], categories: ['all'], subresources: ['status', 'scale'],
  }),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'], subresources: ['token'] }),
  r('', 'v1', 'PersistentVolume', 'persistentvolumes', false, { shortNames: ['pv'], subresources: ['status'] }),
  r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], subresources: ['status'] }),
  r('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', true, { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('batch', 'v1', 'Job', 'jobs', true, { categories: ['all'], subresources: ['status'] }),
  r('batch', 'v1', 'CronJob', 'cronjobs', true, { shortNames: ['cj'], categories: ['all'], subresources: ['status'] }),
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  r('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], subresources: ['status'] }),
  r('', 'v1', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] }),
  r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, { shortNames: ['pdb'], subresources: ['status'] }),
  r('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, { shortNames: ['sc'] }),
  r('certificates.k8s.io', 'v1', 'CertificateSigningRequest', 'certificatesigningrequests', false, { shortNames: ['csr'], subresources: ['status', 'approval'] }),
  // Reviews: a create answered from the request itself, never stored (as kube-apiserver's).
  r('authentication.k8s.io', 'v1', 'TokenReview', 'tokenreviews', false, { verbs: ['create'] }),
  r('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', false, { verbs: ['create'] }),
  r('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'],
  }),
];

/** Replace the kinds served for one CRD (none: it is gone or not established). */
/** Counts changes to the custom kinds, so what is derived from RESOURCES (OpenAPI documents) knows to rebuild. */
export let customKindsGeneration = 0;

export function setCustomKinds(crd: string, infos: ResourceInfo[]): void {
  customKindsGeneration++;
  for (let i = RESOURCES.length - 1; i >= 0; i--) if (RESOURCES[i]!.custom?.crd === crd) RESOURCES.splice(i, 1);
  RESOURCES.push(...infos);
}

export const apiVersionOf = (info: Pick<ResourceInfo, 'group' | 'version'>): string =>
  info.group ? `${info.group}/${info.version}` : info.version;

/** `pods` or `deployments.apps`: how Kubernetes names a resource in messages. */
export const qualifiedName = (info: ResourceInfo): string => (info.group ? `${info.resource}.${info.group}` : info.resource);

/** The resource of a group; for a custom kind served in several versions, its storage version's entry. */
export function findResource(group: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.resource === resource && (!x.custom || x.version === x.custom.storageVersion))
    ?? RESOURCES.find((x) => x.group === group && x.resource === resource);
}

export function findByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => apiVersionOf(x) === apiVersion && x.kind === kind);
}

/** Look a resource up by plural, singular, short name or kind (case-insensitive), as a CLI would. */
export function resolveResource(name: string): ResourceInfo | undefined {
  const n = name.toLowerCase();
  const [base, group] = n.includes('.') ? [n.slice(0, n.indexOf('.')), n.slice(n.indexOf('.') + 1)] : [n, undefined];
  return RESOURCES.find((x) => (group === undefined || x.group === group) &&
    (x.resource === base || x.singular === base || x.shortNames.includes(base) || x.kind.toLowerCase() === base));
}

/** The etcd key of one object, the Kubernetes way: /registry/<resource>/<namespace>/<name>. */
export function storageKey(prefix: string, info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${prefix}/${segment(info)}/${namespace}/${name}` : `${prefix}/${segment(info)}/${name}`;
}

/** Custom kinds live under their group (/registry/<group>/<plural>/…), so no CRD can collide with a built-in. */
const segment = (info: ResourceInfo) => (info.custom ? `${info.group}/${info.resource}` : info.resource);

/** The etcd key prefix of a collection: all namespaces when namespace is undefined. */
export function storagePrefix(prefix: string, info: ResourceInfo, namespace?: string): string {
  return info.namespaced && namespace ? `${prefix}/${segment(info)}/${namespace}/` : `${prefix}/${segment(info)}/`;
}
