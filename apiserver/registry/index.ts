// The registry: Kubernetes' generic storage rules over the Store, shared by both transports.
// Every call runs authorize → (create/update) reset + defaults + validation → etcd, the way
// kube-apiserver's generic registry and per-resource strategies do.
import { randomUUID } from 'node:crypto';
import {
  ApiError, alreadyExists, conflict, errorToStatus, fieldInvalid, fieldRequired, invalid, notFound, toApiError,
} from '../../api/errors.ts';
import { objectFields, checkFieldSelectorSupported } from '../../api/fields.ts';

// One watch event's object is matched by every watcher of its resource (100 hollow kubelets each
// select spec.nodeName): its selectable fields are computed once per object, not once per watcher.
const fieldsCache = new WeakMap<KubeObject, Record<string, string>>();
function fieldsOf(info: ResourceInfo, obj: KubeObject): Record<string, string> {
  let f = fieldsCache.get(obj);
  if (!f) fieldsCache.set(obj, f = objectFields(info, obj));
  return f;
}
import { applyDefaults } from '../../api/defaults/index.ts';
import { parseFieldSelector, parseLabelSelector } from '../../api/selectors.ts';
import {
  RESOURCES, apiVersionOf, findResource, storageKey, storagePrefix, type ResourceInfo,
} from '../../api/resources.ts';
import {
  now, type DeleteOptions, type KubeList, type KubeObject, type ListOptions, type WatchEvent, type WatchOptions,
} from '../../api/types.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from '../../api/validation/index.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Authorizer } from '../auth/authorizer.ts';
import { applyPatch } from '../patch/index.ts';
import { checkApplied, checkPatched } from './typed-patch.ts';
import type { Store, StoreWatchEvent } from '../storage/store.ts';
import { ServiceAllocator } from './allocator.ts';
import { toScale } from './scale.ts';
import { allocateForCreate, allocateForUpdate, dropTypeDependentFields, releaseAll, releaseAllocation } from './services.ts';
import {
  gracePeriodFor, hasStatus, mergeStatusUpdate, prepareForCreate, specOf, tracksGeneration,
} from './strategies.ts';
import type {
  ApiWatch, PatchOptions, PatchType, Registry, RequestContext, ResourceRef, WriteOptions,
} from './types.ts';

export interface RegistryOptions {
  store: Store;
  authorizer: Authorizer;
  serviceClusterIPRange: string;
  nodePortRange: [number, number];
  logger: Logger;
  /** Bookmark interval for watches that allow bookmarks. */
  bookmarkIntervalMs?: number;
}

const PREFIX = '/registry';
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' generateName alphabet
const MAX_RETRIES = 16;

const NS_INFO = findResource('', 'namespaces')!;
const SVC_INFO = findResource('', 'services')!;

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

const isCode = (err: unknown, code: string) => err instanceof ApiError && err.code === code;

/** Continue tokens are opaque to clients: the revision of the first page and the key to go on from. */
function encodeContinue(rv: number, key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv, start: key })).toString('base64url');
}
function decodeContinue(token: string, prefix: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t.v === 1 && Number.isInteger(t.rv) && typeof t.start === 'string' && t.start.startsWith(prefix)) return t;
  } catch { /* fall through */ }
  throw new ApiError('BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export class GenericRegistry implements Registry {
  readonly allocator: ServiceAllocator;
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly finalizing = new Set<string>();
  /** Namespaces as last seen by a watch (see watchNamespaces). */
  private readonly namespaces = new Map<string, KubeObject>();
  private namespaceWatch: { close(): void } | undefined;
  private closed = false;

  constructor(private readonly opts: RegistryOptions) {
    this.store = opts.store;
    this.logger = opts.logger;
    this.allocator = new ServiceAllocator(opts.store, opts.serviceClusterIPRange, opts.nodePortRange);
  }

  // ---- plumbing ------------------------------------------------------------------------

  private authorize(ctx: RequestContext, verb: string, ref: ResourceRef): void {
    const { allowed, reason } = this.opts.authorizer.authorize({
      user: ctx.user, verb, group: ref.info.group, resource: ref.info.resource,
      subresource: ref.subresource, namespace: ref.namespace, name: ref.name,
    });
    if (!allowed) {
      const what = ref.info.group ? `${ref.info.resource}.${ref.info.group}` : ref.info.resource;
      throw new ApiError('Forbidden', `${what}${ref.name ? ` "${ref.name}"` : ''} is forbidden: User "${ctx.user.username}" cannot ${verb} resource "${ref.info.resource}" in API group "${ref.info.group}"${ref.namespace ? ` in the namespace "${ref.namespace}"` : ''}${reason ? `: ${reason}` : ''}`,
        { name: ref.name, kind: ref.info.resource, group: ref.info.group || undefined });
    }
  }

  private key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return storageKey(PREFIX, info, namespace, name);
  }

  private itemRef(ref: ResourceRef): { info: ResourceInfo; ns: string | undefined; name: string } {
    if (!ref.name) throw new ApiError('BadRequest', 'resource name may not be empty');
    if (ref.info.namespaced && !ref.namespace) throw new ApiError('BadRequest', 'the namespace of the object is required');
    return { info: ref.info, ns: ref.info.namespaced ? ref.namespace : undefined, name: ref.name };
  }

  /** apiVersion and kind first, as the API returns them. */
  private decorate(info: ResourceInfo, obj: KubeObject): KubeObject {
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return { apiVersion: apiVersionOf(info), kind: info.kind, ...rest } as KubeObject;
  }

  private async load(info: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    const obj = await this.store.get(this.key(info, ns, name));
    if (!obj) throw notFound(info.resource, name, info.group || undefined);
    return obj;
  }

  private checkSubresource(ref: ResourceRef, allowed: string[]): void {
    const sub = ref.subresource;
    if (sub === undefined) return;
    if (!ref.info.subresources.includes(sub) || !allowed.includes(sub)) {
      throw new ApiError('NotFound', `the server could not find the requested resource (${ref.info.resource}/${sub})`);
    }
  }

  /** Body kind/apiVersion must match the resource, as kube-apiserver's decoder insists. */
  private checkBody(info: ResourceInfo, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('BadRequest', 'the body of the request must be a JSON object');
    const obj = body as KubeObject;
    if (obj.metadata !== undefined && (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata))) {
      throw new ApiError('BadRequest', 'metadata must be an object');
    }
    if (obj.kind !== undefined && obj.kind !== info.kind) {
      throw new ApiError('BadRequest', `the object provided is unrecognized (must be of type ${info.kind}): kind ${String(obj.kind)} does not match the resource ${info.resource}`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(info)) {
      throw new ApiError('BadRequest', `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(info)})`);
    }
    const copy = structuredClone(obj);
    copy.metadata ??= {};
    return copy;
  }

  private checkNamespaceMatch(obj: KubeObject, ref: ResourceRef): void {
    if (!ref.info.namespaced) { delete obj.metadata.namespace; return; }
    if (obj.metadata.namespace && obj.metadata.namespace !== ref.namespace) {
      throw new ApiError('BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = ref.namespace;
  }

  private async requireNamespace(ns: string): Promise<void> {
    // Like kube-apiserver's NamespaceLifecycle admission: a watched cache first, a live read when
    // the cache has not seen the namespace (it may have been created a moment ago).
    const nsObj = this.namespaces.get(ns) ?? await this.store.get(this.key(NS_INFO, undefined, ns));
    if (!nsObj) throw notFound('namespaces', ns);
    if (nsObj.metadata.deletionTimestamp || nsObj.status?.phase === 'Terminating') {
      throw new ApiError('Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`,
        { name: ns, kind: 'namespaces', causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] });
    }
  }

  private matcher(info: ResourceInfo, opts: { labelSelector?: string; fieldSelector?: string }, name?: string) {
    const labels = parseLabelSelector(opts.labelSelector);
    const fieldSel = [opts.fieldSelector, name ? `metadata.name=${name}` : undefined].filter(Boolean).join(',');
    const fields = parseFieldSelector(fieldSel || undefined);
    checkFieldSelectorSupported(info, fields.requirements.map((r) => r.field));
    if (labels.empty() && fields.empty()) return () => true;
    return (obj: KubeObject) => labels.matches(obj.metadata?.labels) && (fields.empty() || fields.matches(fieldsOf(info, obj)));
  }

  // ---- reads ---------------------------------------------------------------------------

  async get(ctx: RequestContext, ref: ResourceRef): Promise<KubeObject> {
    this.authorize(ctx, 'get', ref);
    this.checkSubresource(ref, ['status', 'scale']);
    const { info, ns, name } = this.itemRef(ref);
    const obj = await this.load(info, ns, name);
    return ref.subresource === 'scale' ? toScale(info, obj) : this.decorate(info, obj);
  }

  async list(ctx: RequestContext, ref: ResourceRef, opts: ListOptions): Promise<KubeList> {
    this.authorize(ctx, 'list', ref);
    const info = ref.info;
    const match = this.matcher(info, opts);
    const prefix = storagePrefix(PREFIX, info, ref.namespace);
    const limit = opts.limit && opts.limit > 0 ? Math.floor(opts.limit) : undefined;
    const cont = opts.continue ? decodeContinue(opts.continue, prefix) : undefined;
    const res = await this.store.list(prefix, { limit, continueKey: cont?.start, revision: cont?.rv ?? await this.listRevision(opts, limit) });
    const list: KubeList = {
      apiVersion: apiVersionOf(info), kind: `${info.kind}List`,
      metadata: { resourceVersion: String(res.revision) },
      items: res.items.filter(match).map((o) => this.decorate(info, o)),
    };
    if (res.continueKey) list.metadata.continue = encodeContinue(res.revision, res.continueKey);
    return list;
  }

  /**
   * The revision a first page is read at, as kube-apiserver reads resourceVersion: unset or "0" = now;
   * NotOlderThan (or a bare rv without a limit) = now, once the store has reached rv; Exact (or a bare rv
   * with a limit) = at rv itself (410 when compacted).
   */
  private async listRevision(opts: ListOptions, limit: number | undefined): Promise<number | undefined> {
    const rv = opts.resourceVersion;
    if (!rv || (rv === '0' && opts.resourceVersionMatch !== 'Exact')) return undefined;
    if (!/^\d+$/.test(rv) || BigInt(rv) > 0xffffffffffffffffn) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rv}": invalid resource version`);
    await this.waitForRevision(Number(rv));
    const exact = opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === undefined && limit !== undefined);
    return exact ? Number(rv) : undefined;
  }

  // ---- create --------------------------------------------------------------------------

  async create(ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    this.authorize(ctx, 'create', ref);
    if (ref.subresource === 'binding') return this.bind(ref, body, opts);
    if (ref.subresource === 'eviction') return this.evict(ctx, ref);
    if (ref.subresource) this.checkSubresource(ref, []);
    const info = ref.info;
    const obj = this.checkBody(info, body);
    this.checkNamespaceMatch(obj, ref);
    if (info.namespaced) await this.requireNamespace(ref.namespace!);
    return this.createObject(info, obj, opts);
  }

  private async createObject(info: ResourceInfo, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const m = obj.metadata;
    const generate = !m.name && m.generateName;
    if (!m.name && !m.generateName) {
      throw invalid(info.kind, '', [fieldRequired('metadata.name', 'name or generateName is required')], info.group || undefined);
    }
    if (generate) m.name = m.generateName + randomSuffix();
    m.uid = randomUUID();
    m.creationTimestamp = now();
    delete m.resourceVersion; delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; delete m.selfLink;
    if (tracksGeneration(info)) m.generation = 1; else delete m.generation;
    prepareForCreate(info, obj);
    applyDefaults(info, obj);
    const errors = validateCreate(info, obj);
    if (errors.length) throw invalid(info.kind, m.name ?? '', errors, info.group || undefined);

    const allocation = info === SVC_INFO || info.resource === 'services'
      ? await allocateForCreate(this.allocator, obj, Boolean(opts.dryRun)) : undefined;
    try {
      if (opts.dryRun) return this.decorate(info, obj);
      for (let attempt = 0; ; attempt++) {
        try {
          return this.decorate(info, await this.store.create(this.key(info, m.namespace, m.name!), obj));
        } catch (err) {
          if (!isCode(err, 'AlreadyExists')) throw err;
          if (!generate || attempt >= MAX_RETRIES) throw alreadyExists(info.resource, m.name!, info.group || undefined);
          m.name = m.generateName + randomSuffix();
        }
      }
    } catch (err) {
      if (allocation) await releaseAllocation(this.allocator, allocation);
      throw err;
    }
  }

  /** POST pods/<name>/binding: set spec.nodeName once, add PodScheduled=True. */
  private async bind(ref: ResourceRef, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    this.checkSubresource(ref, ['binding']);
    const { info, ns, name } = this.itemRef(ref);
    const target = (body as any)?.target;
    if (!target?.name) throw invalid('Binding', name, [fieldRequired('target.name')]);
    if (target.kind && target.kind !== 'Node') throw invalid('Binding', name, [{ type: 'FieldValueNotSupported', field: 'target.kind', detail: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
    const wantUid = body.metadata?.uid;
    const why = (msg: string) => conflict('pods/binding', name, undefined, msg);
    const apply = (pod: KubeObject) => {
      if (wantUid && pod.metadata.uid !== wantUid) throw why(`Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${pod.metadata.uid}`);
      if (pod.metadata.deletionTimestamp) throw why(`pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw why(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if (pod.spec?.schedulingGates?.length) throw why(`pod ${name} has non-empty .spec.schedulingGates`);
      pod.spec = { ...(pod.spec ?? {}), nodeName: target.name };
      const conditions = (pod.status?.conditions ?? []).filter((c: any) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
      pod.status = { ...(pod.status ?? {}), conditions };
      return pod;
    };
    try {
      if (opts.dryRun) apply(await this.load(info, ns, name));
      else await this.store.guaranteedUpdate(this.key(info, ns, name), apply);
    } catch (err) {
      if (isCode(err, 'NotFound')) throw notFound('pods', name);
      throw err;
    }
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
  }

  /** POST pods/<name>/eviction: a delete with the Eviction's options (no disruption budgets yet). */
  private async evict(ctx: RequestContext, ref: ResourceRef): Promise<KubeObject> {
    this.checkSubresource(ref, ['eviction']);
    await this.delete(ctx, { ...ref, subresource: undefined }, {});
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
  }

  // ---- update and patch ----------------------------------------------------------------

  async update(ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    this.authorize(ctx, 'update', ref);
    this.checkSubresource(ref, ['status', 'scale']);
    const { info, ns, name } = this.itemRef(ref);
    if (ref.subresource === 'scale') return this.updateScale(ref, body, opts);
    const obj = this.checkBody(info, body);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw new ApiError('BadRequest', `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    this.checkNamespaceMatch(obj, ref);
    const wantRv = obj.metadata.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const stored = await this.load(info, ns, name);
      if (obj.metadata.uid && obj.metadata.uid !== stored.metadata.uid) {
        throw conflict(info.resource, name, info.group || undefined, `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${stored.metadata.uid}`);
      }
      if (wantRv && wantRv !== stored.metadata.resourceVersion) throw conflict(info.resource, name, info.group || undefined);
      try {
        return await this.writeUpdate(info, stored, obj, ref.subresource === 'status', opts);
      } catch (err) {
        if (!isCode(err, 'Conflict') || wantRv || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  /** The common path of PUT and PATCH: reset what may not change, default, validate, CAS write. */
  private async writeUpdate(info: ResourceInfo, stored: KubeObject, incoming: KubeObject, statusOnly: boolean, opts: WriteOptions): Promise<KubeObject> {
    const name = stored.metadata.name!;
    let next: KubeObject;
    let errors;
    let svc: Awaited<ReturnType<typeof allocateForUpdate>> | undefined;
    if (statusOnly) {
      next = mergeStatusUpdate(stored, incoming);
      errors = validateStatusUpdate(info, next, stored);
    } else {
      next = structuredClone(incoming);
      const sm = stored.metadata;
      next.metadata = {
        ...next.metadata, name: sm.name, namespace: sm.namespace, uid: sm.uid, creationTimestamp: sm.creationTimestamp,
        deletionTimestamp: sm.deletionTimestamp, deletionGracePeriodSeconds: sm.deletionGracePeriodSeconds, generation: sm.generation,
      };
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
      if (hasStatus(info)) next.status = stored.status;
      else if (info.resource === 'namespaces') next.status = stored.status;
      if (info.resource === 'services') dropTypeDependentFields(next, stored);
      applyDefaults(info, next);
      errors = validateUpdate(info, next, stored);
      if (tracksGeneration(info) && specOf(next) !== specOf(stored)) next.metadata.generation = (sm.generation ?? 0) + 1;
    }
    if (errors.length) throw invalid(info.kind, name, errors, info.group || undefined);
    if (info.resource === 'services' && !statusOnly && !opts.dryRun) svc = await allocateForUpdate(this.allocator, next, stored);
    if (opts.dryRun) return this.decorate(info, { ...next, metadata: { ...next.metadata, resourceVersion: stored.metadata.resourceVersion } });
    const key = this.key(info, stored.metadata.namespace, name);
    let written: KubeObject;
    try {
      written = await this.store.update(key, next, Number(stored.metadata.resourceVersion));
    } catch (err) {
      if (svc) await releaseAllocation(this.allocator, svc.alloc);
      if (isCode(err, 'NotFound')) throw notFound(info.resource, name, info.group || undefined);
      if (isCode(err, 'Conflict')) throw conflict(info.resource, name, info.group || undefined);
      throw err;
    }
    if (svc) await svc.release();
    // An object being deleted goes once its last finalizer is removed (pods: once the kubelet is done).
    const m = written.metadata;
    if (m.deletionTimestamp && !(m.finalizers?.length) && !(info.resource === 'pods' && (m.deletionGracePeriodSeconds ?? 0) > 0)) {
      return this.decorate(info, await this.removeNow(info, written));
    }
    return this.decorate(info, written);
  }

  private async updateScale(ref: ResourceRef, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const { info, ns, name } = this.itemRef(ref);
    const replicas = body?.spec?.replicas;
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) {
      throw invalid('Scale', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', detail: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }], 'autoscaling');
    }
    const wantRv = body?.metadata?.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const stored = await this.load(info, ns, name);
      if (wantRv && wantRv !== stored.metadata.resourceVersion) throw conflict(info.resource, name, info.group || undefined);
      const next = structuredClone(stored);
      next.spec = { ...(next.spec ?? {}), replicas: replicas ?? 0 };
      try {
        return toScale(info, await this.writeUpdate(info, stored, next, false, opts));
      } catch (err) {
        if (!isCode(err, 'Conflict') || wantRv || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  async patch(ctx: RequestContext, ref: ResourceRef, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<{ object: KubeObject; created: boolean; warnings?: string[] }> {
    this.authorize(ctx, 'patch', ref);
    this.checkSubresource(ref, ['status', 'scale']);
    const { info, ns, name } = this.itemRef(ref);
    if (type === 'apply' && opts.fieldValidation && !ref.subresource) checkApplied(info, patch, name);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.store.get(this.key(info, ns, name));
      if (!stored) {
        if (type === 'apply' && !ref.subresource) {
          const body = this.checkBody(info, patch);
          if (body.metadata.name && body.metadata.name !== name) throw new ApiError('BadRequest', `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
          body.metadata.name = name;
          this.checkNamespaceMatch(body, ref);
          if (info.namespaced) await this.requireNamespace(ns!);
          return { object: await this.createObject(info, body, opts), created: true };
        }
        throw notFound(info.resource, name, info.group || undefined);
      }
      const base = ref.subresource === 'scale' ? toScale(info, stored) : this.decorate(info, stored);
      const patched = applyPatch(type, base, patch, info);
      const warnings = ref.subresource === 'scale' ? [] : checkPatched(info, type, patch, patched, opts);
      try {
        if (ref.subresource === 'scale') {
          const object = await this.updateScale(ref, { ...patched, metadata: { ...patched.metadata, resourceVersion: stored.metadata.resourceVersion } }, opts);
          return { object, created: false };
        }
        const obj = this.checkBody(info, patched);
        if (obj.metadata.name !== name) throw new ApiError('BadRequest', 'metadata.name may not be changed by a patch');
        if (obj.metadata.uid !== undefined && obj.metadata.uid !== stored.metadata.uid) {
          throw invalid(info.kind, name, [fieldInvalid('metadata.uid', obj.metadata.uid, 'field is immutable')], info.group || undefined);
        }
        this.checkNamespaceMatch(obj, ref);
        const pinned = obj.metadata.resourceVersion;
        if (pinned && pinned !== stored.metadata.resourceVersion) throw conflict(info.resource, name, info.group || undefined);
        const object = await this.writeUpdate(info, stored, obj, ref.subresource === 'status', opts);
        return { object, created: false, warnings };
      } catch (err) {
        const pinnedByPatch = (patch as any)?.metadata?.resourceVersion !== undefined;
        if (!isCode(err, 'Conflict') || pinnedByPatch || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  // ---- delete --------------------------------------------------------------------------

  async delete(ctx: RequestContext, ref: ResourceRef, opts: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    this.authorize(ctx, 'delete', ref);
    if (ref.subresource) this.checkSubresource(ref, []);
    const { info, ns, name } = this.itemRef(ref);
    const dryRun = Boolean(opts.dryRun?.includes('All'));
    for (let attempt = 0; ; attempt++) {
      const stored = await this.load(info, ns, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== stored.metadata.uid) {
        throw conflict(info.resource, name, info.group || undefined, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stored.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== stored.metadata.resourceVersion) {
        throw conflict(info.resource, name, info.group || undefined, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`);
      }
      // kubectl's --grace-period=-1 means "the object's default".
      if (opts.gracePeriodSeconds !== undefined && !(opts.gracePeriodSeconds >= 0)) opts = { ...opts, gracePeriodSeconds: undefined };
      try {
        if (info.resource === 'namespaces') return await this.deleteNamespace(stored, dryRun);
        const grace = gracePeriodFor(info, stored, opts.gracePeriodSeconds);
        // Foreground and Orphan propagation are finalizers the garbage collector acts on and removes.
        const gcFinalizer = propagationFinalizer(opts);
        const finalizers = stored.metadata.finalizers ?? [];
        if (grace > 0 || finalizers.length > 0 || gcFinalizer) {
          return { object: await this.markDeleting(info, stored, grace, dryRun, gcFinalizer), deleted: false };
        }
        if (dryRun) return { object: this.decorate(info, stored), deleted: true };
        const gone = await this.store.delete(this.key(info, ns, name), Number(stored.metadata.resourceVersion));
        if (info.resource === 'services') await releaseAll(this.allocator, gone);
        return { object: this.decorate(info, gone), deleted: true };
      } catch (err) {
        if (!isCode(err, 'Conflict') || pre || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  /** Graceful deletion: set deletionTimestamp (now + grace) and leave the object for its owner to finish. */
  private async markDeleting(info: ResourceInfo, stored: KubeObject, grace: number, dryRun: boolean, gcFinalizer?: string): Promise<KubeObject> {
    const m = stored.metadata;
    const addFinalizer = gcFinalizer && !m.finalizers?.includes(gcFinalizer);
    if (m.deletionTimestamp && (m.deletionGracePeriodSeconds ?? 0) <= grace && !addFinalizer) return this.decorate(info, stored);
    const next = structuredClone(stored);
    if (!m.deletionTimestamp || (m.deletionGracePeriodSeconds ?? 0) > grace) {
      next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      next.metadata.deletionGracePeriodSeconds = grace;
    }
    if (addFinalizer) {
      next.metadata.finalizers = [...(m.finalizers ?? []).filter((f) => f !== 'orphan' && f !== 'foregroundDeletion'), gcFinalizer];
    }
    if (dryRun) return this.decorate(info, next);
    const written = await this.store.update(this.key(info, m.namespace, m.name!), next, Number(m.resourceVersion));
    return this.decorate(info, written);
  }

  private async removeNow(info: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    try {
      const gone = await this.store.delete(this.key(info, obj.metadata.namespace, obj.metadata.name!));
      if (info.resource === 'services') await releaseAll(this.allocator, gone);
      return gone;
    } catch (err) {
      if (isCode(err, 'NotFound')) return obj;
      throw err;
    }
  }

  /**
   * A namespace delete marks it Terminating; its contents are then deleted and the namespace
   * goes when it is empty (Kubernetes' namespace controller does this; here the apiserver
   * finishes it itself until the controller manager takes it over).
   */
  private async deleteNamespace(stored: KubeObject, dryRun: boolean): Promise<{ object: KubeObject; deleted: boolean }> {
    const name = stored.metadata.name!;
    if (PROTECTED_NAMESPACES.has(name)) {
      throw new ApiError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (dryRun) return { object: this.decorate(NS_INFO, stored), deleted: false };
    let obj = stored;
    if (!stored.metadata.deletionTimestamp) {
      obj = await this.store.guaranteedUpdate(this.key(NS_INFO, undefined, name), (ns) => {
        ns.metadata.deletionTimestamp ??= now();
        ns.metadata.deletionGracePeriodSeconds = 0;
        ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
        return ns;
      });
      this.namespaces.set(name, obj); // refuse new content at once, not when the watch catches up
    }
    this.finalizeNamespace(name);
    return { object: this.decorate(NS_INFO, obj), deleted: false };
  }

  private finalizeNamespace(name: string): void {
    if (this.finalizing.has(name)) return;
    this.finalizing.add(name);
    const ctx: RequestContext = { user: { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:masters'] } };
    const run = async () => {
      // Like the namespace controller, start a moment later: `kubectl delete -f` of a file holding a
      // namespace and its objects then deletes those objects itself instead of racing us to them.
      await new Promise((r) => setTimeout(r, 1000));
      for (let round = 0; ; round++) {
        let remaining = 0;
        for (const info of RESOURCES) {
          if (!info.namespaced) continue;
          const list = await this.store.list(storagePrefix(PREFIX, info, name));
          for (const obj of list.items) {
            remaining++;
            if (!obj.metadata.deletionTimestamp) {
              await this.delete(ctx, { info, namespace: name, name: obj.metadata.name }, {}).catch((err) => {
                if (!isCode(err, 'NotFound')) this.logger.warn({ err: String(err), namespace: name }, 'namespace cleanup: delete failed');
              });
            }
          }
        }
        if (remaining === 0) {
          await this.store.delete(this.key(NS_INFO, undefined, name)).catch(() => {});
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * (round + 1))));
      }
    };
    run().catch((err) => this.logger.error({ err: String(err), namespace: name }, 'namespace cleanup failed'))
      .finally(() => this.finalizing.delete(name));
  }

  async deleteCollection(ctx: RequestContext, ref: ResourceRef, list: ListOptions, opts: DeleteOptions = {}): Promise<KubeList> {
    this.authorize(ctx, 'deletecollection', ref);
    const current = await this.list(ctx, ref, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    const items: KubeObject[] = [];
    for (const obj of current.items) {
      try {
        const { object } = await this.delete(ctx, { info: ref.info, namespace: obj.metadata.namespace, name: obj.metadata.name }, opts);
        items.push(object);
      } catch (err) {
        if (!isCode(err, 'NotFound') && !isCode(err, 'Forbidden')) throw err;
      }
    }
    return { ...current, items };
  }

  // ---- watch ---------------------------------------------------------------------------

  /**
   * A resourceVersion from the future: wait up to 3 s for the store to reach it (another apiserver may have
   * written it a moment ago), then answer as kube-apiserver's watch cache does.
   */
  private async waitForRevision(rv: number): Promise<void> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const current = await this.store.currentRevision();
      if (rv <= current) return;
      if (Date.now() >= deadline) {
        throw new ApiError('Timeout', `Too large resource version: ${rv}, current: ${current}`,
          { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async watch(ctx: RequestContext, ref: ResourceRef, opts: WatchOptions): Promise<ApiWatch> {
    this.authorize(ctx, 'watch', ref);
    const info = ref.info;
    const match = this.matcher(info, opts, ref.name);
    const prefix = storagePrefix(PREFIX, info, ref.namespace);
    const rv = opts.resourceVersion;
    let from: number;
    let initial: KubeObject[] = [];
    const numericRv = () => {
      if (!/^\d+$/.test(rv!) || BigInt(rv!) > 0xffffffffffffffffn) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rv}": invalid resource version`);
      return Number(rv);
    };
    if (opts.sendInitialEvents !== undefined) {
      // WatchList: initial events (or none) whatever resourceVersion says; rv is only "not older than".
      if (rv && rv !== '0') await this.waitForRevision(numericRv());
      if (opts.sendInitialEvents) {
        const l = await this.store.list(prefix);
        from = l.revision;
        initial = l.items.filter(match);
      } else {
        from = rv && rv !== '0' ? numericRv() : await this.store.currentRevision();
      }
    } else if (rv === undefined || rv === '' || rv === '0') {
      const l = await this.store.list(prefix);
      from = l.revision;
      initial = l.items.filter(match);
    } else {
      if (!/^\d+$/.test(rv) || BigInt(rv) > 0xffffffffffffffffn) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rv}": invalid resource version`);
      from = Number(rv);
      await this.waitForRevision(from);
    }
    const watcher = this.store.watch(prefix, {
      fromRevision: from,
      bookmarkIntervalMs: opts.allowWatchBookmarks ? this.opts.bookmarkIntervalMs ?? 10_000 : 0,
    });
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutSeconds && opts.timeoutSeconds > 0) timer = setTimeout(() => watcher.close(), opts.timeoutSeconds * 1000);
    const close = () => { if (timer) clearTimeout(timer); watcher.close(); };
    const decorate = (o: KubeObject) => this.decorate(info, o);
    const toEvent = (ev: StoreWatchEvent): WatchEvent | undefined => {
      if (ev.type === 'BOOKMARK') {
        return { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(info), kind: info.kind, metadata: { resourceVersion: String(ev.revision) } } };
      }
      const now = match(ev.object);
      const before = ev.prevObject ? match(ev.prevObject) : false;
      if (ev.type === 'ADDED') return now ? { type: 'ADDED', object: decorate(ev.object) } : undefined;
      if (ev.type === 'DELETED') return before || now ? { type: 'DELETED', object: decorate(ev.object) } : undefined;
      if (now && before) return { type: 'MODIFIED', object: decorate(ev.object) };
      if (now) return { type: 'ADDED', object: decorate(ev.object) };
      if (before) return { type: 'DELETED', object: decorate(ev.object) };
      return undefined;
    };
    async function* events(): AsyncGenerator<WatchEvent> {
      try {
        for (const obj of initial) yield { type: 'ADDED', object: decorate(obj) };
        if (opts.sendInitialEvents && opts.allowWatchBookmarks) {
          yield { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(info), kind: info.kind, metadata: { resourceVersion: String(from), annotations: { 'k8s.io/initial-events-end': 'true' } } } };
        }
        for await (const ev of watcher) {
          const out = toEvent(ev);
          if (out) yield out;
        }
      } catch (err) {
        yield { type: 'ERROR', object: errorToStatus(toApiError(err)) as unknown as KubeObject };
      } finally {
        close();
      }
    }
    const it = events();
    return { close, [Symbol.asyncIterator]: () => it };
  }

  // ---- bootstrap -----------------------------------------------------------------------

  /** The namespaces and the `kubernetes` Service every cluster starts with; resumes unfinished namespace deletions. */
  async bootstrap(): Promise<void> {
    for (const name of INITIAL_NAMESPACES) {
      const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } };
      await this.createObject(NS_INFO, obj, {}).catch((err) => { if (!isCode(err, 'AlreadyExists')) throw err; });
    }
    const existing = await this.store.get(this.key(SVC_INFO, 'default', 'kubernetes'));
    if (!existing) {
      const svc: KubeObject = {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', clusterIP: this.allocator.apiServiceIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None' },
      };
      // The first address is outside the random pool, so take it explicitly.
      await this.store.create(`/registry/allocations/serviceips/${this.allocator.apiServiceIP}`, { metadata: { name: 'default/kubernetes' } })
        .catch((err) => { if (!isCode(err, 'AlreadyExists')) throw err; });
      const m = svc.metadata;
      m.uid = randomUUID(); m.creationTimestamp = now();
      svc.spec.clusterIPs = [svc.spec.clusterIP]; svc.spec.ipFamilies = ['IPv4']; svc.spec.ipFamilyPolicy = 'SingleStack';
      svc.status = { loadBalancer: {} };
      applyDefaults(SVC_INFO, svc);
      await this.store.create(this.key(SVC_INFO, 'default', 'kubernetes'), svc).catch((err) => { if (!isCode(err, 'AlreadyExists')) throw err; });
    }
    const namespaces = await this.store.list(storagePrefix(PREFIX, NS_INFO));
    for (const ns of namespaces.items) if (ns.metadata.deletionTimestamp) this.finalizeNamespace(ns.metadata.name!);
    this.watchNamespaces();
  }

  /** Keep `namespaces` current: list, then watch; start over after any error. */
  private watchNamespaces(): void {
    const run = async () => {
      while (!this.closed) {
        try {
          const list = await this.store.list(storagePrefix(PREFIX, NS_INFO));
          this.namespaces.clear();
          for (const ns of list.items) this.namespaces.set(ns.metadata.name!, ns);
          const w = this.store.watch(storagePrefix(PREFIX, NS_INFO), { fromRevision: list.revision });
          this.namespaceWatch = w;
          for await (const ev of w) {
            if (ev.type === 'DELETED') this.namespaces.delete(ev.object.metadata.name!);
            else if (ev.type !== 'BOOKMARK') this.namespaces.set(ev.object.metadata.name!, ev.object);
          }
        } catch (err) {
          this.namespaces.clear();
          if (!this.closed) this.logger.warn({ err: String(err) }, 'namespace cache: watch failed, re-listing');
        }
        if (!this.closed) await new Promise((r) => setTimeout(r, 500).unref());
      }
    };
    void run();
  }

  /** Stop background work (the namespace watch). The store is closed by its owner. */
  close(): void {
    this.closed = true;
    this.namespaceWatch?.close();
  }
}

export function createRegistry(opts: RegistryOptions): Registry & { bootstrap(): Promise<void>; close(): void } {
  return new GenericRegistry(opts);
}

/** The finalizer a DELETE's propagation policy asks for (orphanDependents is the old spelling). */
function propagationFinalizer(opts: DeleteOptions): string | undefined {
  const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
  if (policy === 'Foreground') return 'foregroundDeletion';
  if (policy === 'Orphan') return 'orphan';
  return undefined;
}
