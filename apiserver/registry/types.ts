// What both transports (REST in ../http, gRPC in ../grpc) call. Every request, whatever
// its transport, runs authenticate → authorize → admit (defaulting, validation) → storage;
// the transport authenticates and builds a RequestContext, the Registry does the rest.
import type { ResourceInfo } from '../../api/resources.ts';
import type {
  DeleteOptions, KubeList, KubeObject, ListOptions, UserInfo, WatchEvent, WatchOptions,
} from '../../api/types.ts';

export interface RequestContext {
  user: UserInfo;
}

/** Which object(s) a request is about. */
export interface ResourceRef {
  info: ResourceInfo;
  /** Required for namespaced resources on item requests; undefined on a namespaced list = all namespaces. */
  namespace?: string;
  name?: string;
  /** 'status' | 'scale' | 'binding' | … ; undefined for the main resource. */
  subresource?: string;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface WriteOptions {
  /** dryRun=All: run admission, do not persist. */
  dryRun?: boolean;
  /** Who writes, for managedFields: the fieldManager parameter, else derived from the User-Agent. */
  fieldManager?: string;
  /** Internal: a server-side apply, whose managedFields are computed already (patch/managed-fields.ts). */
  applied?: boolean;
  /** Internal: the subresource the write is recorded as (a scale write goes through the object). */
  managedSubresource?: string;
  /** How unknown and duplicate fields are treated (typed-patch.ts); unset (gRPC): patches are not checked. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface PatchOptions extends WriteOptions {
  /** For apply patches: force conflicts. */
  force?: boolean;
  /** Strict decoding errors of the patch body itself (duplicate fields), found by the transport in the raw text. */
  patchStrictErrors?: string[];
}

export interface ApiWatch extends AsyncIterable<WatchEvent> {
  close(): void;
}

export interface Registry {
  get(ctx: RequestContext, ref: ResourceRef): Promise<KubeObject>;
  list(ctx: RequestContext, ref: ResourceRef, opts: ListOptions): Promise<KubeList>;
  /** POST; for subresources ('binding', 'eviction') the body is the subresource object. */
  create(ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /** PUT of the object or of a subresource ('status', 'scale'). Stale metadata.resourceVersion → 409 Conflict. */
  update(ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /**
   * PATCH of the object or of a subresource. `patch` is the parsed body (an array for JSON patch).
   * An 'apply' patch creates the object when absent (created: true → 201).
   */
  patch(ctx: RequestContext, ref: ResourceRef, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<{ object: KubeObject; created: boolean; warnings?: string[] }>;
  /**
   * DELETE. Returns the object: still present with deletionTimestamp when deletion is graceful
   * (pods bound to a node, objects with finalizers), or its last state when it is gone.
   */
  delete(ctx: RequestContext, ref: ResourceRef, opts?: DeleteOptions): Promise<{ object: KubeObject; deleted: boolean }>;
  deleteCollection(ctx: RequestContext, ref: ResourceRef, list: ListOptions, opts?: DeleteOptions): Promise<KubeList>;
  /**
   * Watch a collection (name set → fieldSelector metadata.name). Without resourceVersion or with "0",
   * starts with synthetic ADDED events for the current objects. A compacted resourceVersion yields one
   * ERROR event (Status 410 Expired) and ends. Events are filtered by selectors; an object that stops
   * matching is sent as DELETED, one that starts matching as ADDED, as kube-apiserver does.
   */
  watch(ctx: RequestContext, ref: ResourceRef, opts: WatchOptions): Promise<ApiWatch>;
}
