// What kube-apiserver keeps per kind in pkg/registry/<group>/<kind>/strategy.go and storage.go, as one object:
// the generic registry (apiserver/registry) calls these and knows no kind by name. Every member is optional;
// a kind without any is stored as sent, validated for its metadata only.
import type { FieldError } from '../../api/errors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../storage/store.ts';
import type { ServiceAllocator } from '../registry/allocator.ts';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.ts';
import type { DeleteOptions, UserInfo } from '../../api/types.ts';
import type { RequestContext, ResourceRef, WriteOptions } from '../registry/types.ts';

/** Kinds read their objects loosely: what they are sent is checked here, not trusted to fit the types. */
type Obj = Record<string, any>;

export type Cell = string | number | boolean | null;
export interface Column { name: string; type?: string; format?: string; priority?: number; description?: string }
/** `kubectl get`'s columns after Name, and one row's cells (kube-apiserver's printers). */
export interface Printer {
  columns: Column[];
  cells(o: Record<string, any>): Cell[];
  /** The Name column is not first (Events lead with Last Seen and show the name at the end). */
  withoutName?: boolean;
}

/** What a kind's hooks and subresources may use of the registry. */
export interface RegistryEnv {
  store: Store;
  allocator: ServiceAllocator;
  key(info: ResourceInfo, namespace: string | undefined, name: string): string;
  load(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject>;
  itemRef(ref: ResourceRef): { info: ResourceInfo; ns: string | undefined; name: string };
  delete(ctx: RequestContext, ref: ResourceRef, opts: DeleteOptions): Promise<{ object: KubeObject; deleted: boolean }>;
  namespaces: { terminate(stored: KubeObject, dryRun: boolean): Promise<{ object: KubeObject; deleted: boolean }> };
  serviceAccountTokens?: ServiceAccountTokens;
  reviewToken?: TokenReviewer;
}

/** A TokenReview's question: who is this token, for these audiences (none: the API's own)? */
export type TokenReviewer = (token: string, audiences?: string[]) => Promise<{ user: UserInfo; audiences: string[] } | { error: string }>;

/** A POST to a subresource (pods/binding, pods/eviction): its own body type, its own answer. */
export type CreateSubresource = (env: RegistryEnv, ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts: WriteOptions) => Promise<KubeObject>;

/** Work a write does outside the object (Services' ClusterIPs and nodePorts): undone if the write fails. */
export interface Allocation { undo(): Promise<void>; commit(): Promise<void> }

export interface Kind {
  /** Which names metadata.name may take (default a DNS-1123 subdomain). */
  nameRule?: 'dns1123Subdomain' | 'dns1123Label' | 'dns1035Label' | 'pathSegment';
  /** Kubernetes' SetDefaults (pkg/apis/<group>/v1/defaults.go). Called after prepareForCreate/Update. */
  defaults?(obj: Obj): void;
  /** PrepareForCreate: reset what a client may not set (status, generated fields); `user` is who creates it. */
  prepareForCreate?(obj: KubeObject, user?: UserInfo): void;
  /** The status strategy's PrepareForUpdate: what a …/status write may not change, put back (after the status merge). */
  prepareForStatusUpdate?(next: KubeObject, stored: KubeObject): void;
  /** PrepareForUpdate of the main resource: carry over from the stored object what it may not change. */
  prepareForUpdate?(next: KubeObject, stored: KubeObject): void;
  /** Validate (after defaulting): the kind's own rules; metadata is checked by the registry. */
  validate?(obj: Obj): FieldError[];
  /** Only on create, beyond validate (what may not be set on create). */
  validateCreate?(obj: Obj): FieldError[];
  /** ValidateUpdate: what may not change (immutable fields), beyond validate. */
  validateUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /** A status write (…/status), after the stored object's non-status fields are put back. */
  validateStatus?(obj: KubeObject, old: KubeObject): FieldError[];
  /**
   * The status fields k8s.io/api declares without `omitempty`: Go writes them even when zero, and clients that
   * decode strictly (the Python client's V1ReplicationControllerStatus) require them. Filled in on every write.
   */
  statusZeros?: Record<string, number>;
  /** metadata.generation counts spec changes. */
  tracksGeneration?: boolean;
  /** An update of the main resource keeps the stored status even without a status subresource (namespaces). */
  keepsStatus?: boolean;
  /** Kubernetes' CheckGracefulDelete: the grace period of a delete (0, or absent, deletes at once). */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** A graceful deletion is finished by another delete (the kubelet's), not by its last finalizer's removal. */
  finishedByOwner?: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace: field → value of one object. */
  fields?(obj: Record<string, any>): Record<string, string>;
  /** The table `kubectl get` prints (Age alone if absent). */
  printer?: Printer;
  /** The autoscaling/v1 Scale subresource: read from and written to the object. */
  scale?: { read(obj: KubeObject): KubeObject; write(obj: KubeObject, replicas: number): void };
  /**
   * PUT/PATCH subresources that write part of the object (pods/ephemeralcontainers), by name: what of the incoming
   * object is taken onto the stored one, and the check beyond validate.
   */
  update?: Record<string, { merge(stored: KubeObject, incoming: KubeObject): KubeObject; validate(next: KubeObject, stored: KubeObject): FieldError[] }>;
  /** A kind that is never stored: a create is answered from its body and the caller (TokenReview, SelfSubjectReview). */
  review?(env: RegistryEnv, ctx: RequestContext, body: KubeObject): Promise<KubeObject>;
  /** POST subresources, by name. */
  create?: Record<string, CreateSubresource>;
  /** Allocations of a create (dryRun: check, take nothing) and of an update; what a delete gives back. */
  allocate?(env: RegistryEnv, obj: KubeObject, dryRun: boolean): Promise<Allocation | undefined>;
  reallocate?(env: RegistryEnv, next: KubeObject, stored: KubeObject): Promise<Allocation | undefined>;
  release?(env: RegistryEnv, gone: KubeObject): Promise<void>;
  /** The kind's own delete (namespaces: Terminating, then emptied), instead of the generic one. */
  delete?(env: RegistryEnv, stored: KubeObject, dryRun: boolean): Promise<{ object: KubeObject; deleted: boolean }>;
}
