// Kubernetes-shaped object types shared by every component. One schema on both transports:
// objects travel as this JSON. Only the generic shapes live here; kind-specific types
// (Pod, Service, Deployment, …) are in kinds.ts.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  selfLink?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [key: string]: unknown;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  /** The object; a Status for ERROR; only kind/apiVersion/metadata.resourceVersion for BOOKMARK. */
  object: T;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type DeletionPropagation = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: DeletionPropagation;
  /** Legacy form of propagationPolicy=Orphan. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/** How a list's resourceVersion is read: at exactly that revision, or at any state at least that new. */
export type ResourceVersionMatch = 'Exact' | 'NotOlderThan';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** For list: "" or absent = latest (quorum read); "0" = any (served from the watch cache). */
  resourceVersion?: string;
  resourceVersionMatch?: ResourceVersionMatch;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Absent or "0": start with synthetic ADDED events for every current object, then stream. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /**
   * The WatchList protocol: true = first the state (not older than resourceVersion) as ADDED events and,
   * with bookmarks allowed, a BOOKMARK annotated k8s.io/initial-events-end; false = no initial events.
   */
  sendInitialEvents?: boolean;
}

/** The authenticated caller, attached to every request by the authenticator. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  /** What an authenticator adds (a ServiceAccount token's pod name and uid, its credential id). */
  extra?: Record<string, string[]>;
}

export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
