// The registry: Kubernetes' generic storage rules over the Store, shared by both transports.
// Every call runs authorize → (create/update) reset + defaults + validation → etcd, the way
// kube-apiserver's generic registry and per-resource strategies do.
import { randomUUID } from 'node:crypto';
import {
  ApiError, alreadyExists, conflict, fieldInvalid, fieldRequired, invalid, notFound, type FieldError,
} from '../../api/errors.ts';
import { parseFieldSelector, parseLabelSelector } from '../../api/selectors.ts';
import { apiVersionOf, findResource, storageKey, storagePrefix, type ResourceInfo } from '../../api/resources.ts';
import {
  now, type DeleteOptions, type KubeList, type KubeObject, type ListOptions, type WatchOptions,
} from '../../api/types.ts';
import { isObj, validateMeta } from '../../api/validation/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { admit, defaultPlugins, validateAdmission, type AdmissionPlugin } from '../admission/index.ts';
import type { Authorizer } from '../auth/authorizer.ts';
import { kindFor } from '../kinds/index.ts';
import type { Kind, RegistryEnv, TokenReviewer } from '../kinds/kind.ts';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.ts';
import { applyPatch, applyScale, checkScaleReplicas } from '../patch/index.ts';
import { applyConfig, recordUpdate } from '../patch/managed-fields.ts';
import type { Store } from '../storage/store.ts';
import { ServiceAllocator } from './allocator.ts';
import { checkFieldSelectorSupported, objectFields } from './fields.ts';
import { NamespaceLifecycle } from './namespaces.ts';
import { watchObjects } from './watch.ts';
import { decodeContinue, encodeContinue } from './paging.ts';
import { createInitialObjects } from './bootstrap.ts';
import { checkApplied, checkPatched } from './typed-patch.ts';
import type {
  ApiWatch, PatchOptions, PatchType, Registry, RequestContext, ResourceRef, WriteOptions,
} from './types.ts';

// One watch event's object is matched by every watcher of its resource (100 hollow kubelets each
// select spec.nodeName): its selectable fields are computed once per object, not once per watcher.
const fieldsCache = new WeakMap<KubeObject, Record<string, string>>();
function fieldsOf(info: ResourceInfo, obj: KubeObject): Record<string, string> {
  let f = fieldsCache.get(obj);
  if (!f) fieldsCache.set(obj, f = objectFields(info, obj));
  return f;
}

export interface RegistryOptions {
  store: Store;
  authorizer: Authorizer;
  serviceClusterIPRange: string;
  nodePortRange: [number, number];
  logger: Logger;
  /** Bookmark interval for watches that allow bookmarks. */
  bookmarkIntervalMs?: number;
  /** The admission plugins, in order (default: apiserver/admission's defaultPlugins). */
  admission?: AdmissionPlugin[];
  /** Default plugins turned off by name (--disable-admission-plugins). */
  disableAdmissionPlugins?: string[];
  /** Issues ServiceAccount tokens (serviceaccounts/token); none: that subresource answers 503. */
  serviceAccountTokens?: ServiceAccountTokens;
  /** What a TokenReview asks: the apiserver's own token authenticators, for the audiences given. */
  reviewToken?: TokenReviewer;
}

const PREFIX = '/registry';
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' generateName alphabet
const MAX_RETRIES = 16;

const NS_INFO = findResource('', 'namespaces')!;

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

const hasStatus = (info: ResourceInfo): boolean => info.subresources.includes('status');
/** The part of an object whose change bumps generation. */
const specOf = (obj: KubeObject): string => JSON.stringify(obj.spec ?? null);

/** A new object's errors: its metadata (names by the kind's rule), then the kind's own rules. */
function validateNew(kind: Kind, obj: KubeObject): FieldError[] {
  return [...validateMeta(obj.metadata, kind.nameRule), ...(kind.validate?.(obj) ?? [])];
}

/**
 * A status write (PUT/PATCH …/status) may change status only; the rest comes from the stored
 * object, as Kubernetes' status strategies do. Labels and annotations may change too.
 */
function mergeStatusUpdate(stored: KubeObject, incoming: KubeObject): KubeObject {
  return {
    ...stored,
    metadata: {
      ...stored.metadata,
      labels: incoming.metadata?.labels ?? stored.metadata.labels,
      annotations: incoming.metadata?.annotations ?? stored.metadata.annotations,
    },
    status: incoming.status,
  };
}

/** The status as Go encodes its struct: the non-omitempty fields first (in the struct's order), zero when unset. */
function withStatusZeros(kind: Kind, obj: KubeObject): void {
  const zeros = kind.statusZeros;
  if (!zeros) return;
  const st = (obj as { status?: unknown }).status;
  if (st !== undefined && (typeof st !== 'object' || st === null || Array.isArray(st))) return;
  const out: Record<string, unknown> = {};
  for (const [k, zero] of Object.entries(zeros)) out[k] = (st as Record<string, unknown> | undefined)?.[k] ?? zero;
  obj.status = { ...out, ...(st as object | undefined) };
}

const isCode = (err: unknown, code: string) => err instanceof ApiError && err.code === code;

export class GenericRegistry implements Registry {
  readonly allocator: ServiceAllocator;
  private readonly store: Store;
  private readonly namespaces: NamespaceLifecycle;
  private readonly admission: AdmissionPlugin[];
  /** What the kinds' hooks and subresources may use. */
  private readonly env: RegistryEnv;

  constructor(private readonly opts: RegistryOptions) {
    this.store = opts.store;
    this.allocator = new ServiceAllocator(opts.store, opts.serviceClusterIPRange, opts.nodePortRange);
    this.namespaces = new NamespaceLifecycle(opts.store, opts.logger, (ctx, ref, o) => this.delete(ctx, ref, o), (o) => this.decorate(NS_INFO, o));
    this.admission = opts.admission ?? defaultPlugins({ namespaces: this.namespaces, store: opts.store, disabled: opts.disableAdmissionPlugins });
    this.env = {
      store: this.store, allocator: this.allocator, namespaces: this.namespaces,
      key: (info, ns, name) => this.key(info, ns, name),
      load: (info, ns, name) => this.load(info, ns, name),
      itemRef: (ref) => this.itemRef(ref),
      delete: (ctx, ref, o) => this.delete(ctx, ref, o),
      serviceAccountTokens: opts.serviceAccountTokens,
      reviewToken: opts.reviewToken,
    };
  }

  // ---- plumbing ------------------------------------------------------------------------

  private authorize(ctx: RequestContext, verb: string, ref: ResourceRef): void {
    if (!ref.subresource && ref.info.verbs && !ref.info.verbs.includes(verb)) {
      throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
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

  /** The subresources read and written as (part of) the object itself. */
  private writableSubresources(info: ResourceInfo): string[] {
    return ['status', 'scale', ...Object.keys(kindFor(info).update ?? {})];
  }

  /** The Scale subresource of an object (its kind says how to read it). */
  private scaleOf(info: ResourceInfo, obj: KubeObject): KubeObject {
    const scale = kindFor(info).scale;
    if (!scale) throw new ApiError('NotFound', `the server could not find the requested resource (${info.resource}/scale)`);
    return scale.read(obj);
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
    this.checkSubresource(ref, this.writableSubresources(ref.info));
    const { info, ns, name } = this.itemRef(ref);
    const obj = await this.load(info, ns, name);
    return ref.subresource === 'scale' ? this.scaleOf(info, obj) : this.decorate(info, obj);
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
    const sub = ref.subresource ? kindFor(ref.info).create?.[ref.subresource] : undefined;
    if (ref.subresource) this.checkSubresource(ref, sub ? [ref.subresource] : []);
    if (sub) return sub(this.env, ctx, ref, body, opts);
    const info = ref.info;
    const obj = this.checkBody(info, body);
    const review = kindFor(info).review;
    if (review) return review(this.env, ctx, obj);
    this.checkNamespaceMatch(obj, ref);
    await admit(this.admission, { operation: 'CREATE', info, namespace: ref.namespace, object: obj, ctx, dryRun: Boolean(opts.dryRun) });
    return this.createObject(info, obj, opts, ctx);
  }

  private async createObject(info: ResourceInfo, obj: KubeObject, opts: WriteOptions, ctx?: RequestContext): Promise<KubeObject> {
    const m = obj.metadata;
    const generate = !m.name && m.generateName;
    if (!m.name && !m.generateName) {
      throw invalid(info.kind, '', [fieldRequired('metadata.name', 'name or generateName is required')], info.group || undefined);
    }
    if (generate) m.name = m.generateName + randomSuffix();
    m.uid = randomUUID();
    m.creationTimestamp = now();
    delete m.resourceVersion; delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; delete m.selfLink;
    const kind = kindFor(info);
    if (kind.tracksGeneration) m.generation = 1; else delete m.generation;
    if (info.custom?.terminating) throw new ApiError('MethodNotAllowed', 'create not allowed while custom resource definition is terminating');
    kind.prepareForCreate?.(obj, ctx?.user);
    kind.defaults?.(obj);
    const errors = [...validateNew(kind, obj), ...(kind.validateCreate?.(obj) ?? [])];
    if (errors.length) throw invalid(info.kind, m.name ?? '', errors, info.group || undefined);
    await validateAdmission(this.admission, { operation: 'CREATE', info, namespace: m.namespace, object: obj, dryRun: Boolean(opts.dryRun) });
    if (!opts.applied) recordUpdate(info, undefined, obj, { manager: opts.fieldManager ?? '' });
    // Zero values the clients require (not owned by any manager: serialization, not a write).
    withStatusZeros(kind, obj);

    const allocation = await kind.allocate?.(this.env, obj, Boolean(opts.dryRun));
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
      await allocation?.undo();
      throw err;
    }
  }

  // ---- update and patch ----------------------------------------------------------------

  async update(ctx: RequestContext, ref: ResourceRef, body: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    this.authorize(ctx, 'update', ref);
    this.checkSubresource(ref, this.writableSubresources(ref.info));
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
        return await this.writeUpdate(info, stored, obj, ref.subresource, opts, ctx);
      } catch (err) {
        if (!isCode(err, 'Conflict') || wantRv || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  /** The common path of PUT and PATCH: reset what may not change, default, validate, CAS write. `sub`: the subresource
   *  written (status, ephemeralcontainers), which decides what of `incoming` is taken. */
  private async writeUpdate(info: ResourceInfo, stored: KubeObject, incoming: KubeObject, sub: string | undefined, opts: WriteOptions, ctx?: RequestContext): Promise<KubeObject> {
    const name = stored.metadata.name!;
    const kind = kindFor(info);
    const statusOnly = sub === 'status';
    const part = sub ? kind.update?.[sub] : undefined;
    let next: KubeObject;
    let errors: FieldError[];
    if (statusOnly) {
      next = mergeStatusUpdate(stored, incoming);
      kind.prepareForStatusUpdate?.(next, stored);
      const st = (next as { status?: unknown }).status;
      errors = st !== undefined && !isObj(st) ? [fieldInvalid('status', st, 'must be an object')] : (kind.validateStatus?.(next, stored) ?? []);
    } else if (part) {
      next = part.merge(stored, incoming);
      kind.defaults?.(next);
      errors = [...validateNew(kind, next), ...part.validate(next, stored)];
    } else {
      next = structuredClone(incoming);
      const sm = stored.metadata;
      next.metadata = {
        ...next.metadata, name: sm.name, namespace: sm.namespace, uid: sm.uid, creationTimestamp: sm.creationTimestamp,
        deletionTimestamp: sm.deletionTimestamp, deletionGracePeriodSeconds: sm.deletionGracePeriodSeconds, generation: sm.generation,
      };
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
      if (hasStatus(info) || kind.keepsStatus) next.status = stored.status;
      kind.prepareForUpdate?.(next, stored);
      kind.defaults?.(next);
      errors = [...validateNew(kind, next), ...(kind.validateUpdate?.(next, stored) ?? [])];
      if (kind.tracksGeneration && specOf(next) !== specOf(stored)) next.metadata.generation = (sm.generation ?? 0) + 1;
    }
    if (errors.length) throw invalid(info.kind, name, errors, info.group || undefined);
    if (!statusOnly && !part) await admit(this.admission, { operation: 'UPDATE', info, namespace: stored.metadata.namespace, object: next, oldObject: stored, ctx, dryRun: Boolean(opts.dryRun) });
    if (!opts.applied) recordUpdate(info, stored, next, { manager: opts.fieldManager ?? '', subresource: opts.managedSubresource ?? sub });
    else if (incoming.metadata.managedFields) next.metadata.managedFields = incoming.metadata.managedFields;
    else delete next.metadata.managedFields;
    // Zero values the clients require (not owned by any manager: serialization, not a write).
    withStatusZeros(kind, next);
    const allocation = !statusOnly && !opts.dryRun ? await kind.reallocate?.(this.env, next, stored) : undefined;
    if (opts.dryRun) return this.decorate(info, { ...next, metadata: { ...next.metadata, resourceVersion: stored.metadata.resourceVersion } });
    const key = this.key(info, stored.metadata.namespace, name);
    let written: KubeObject;
    try {
      written = await this.store.update(key, next, Number(stored.metadata.resourceVersion));
    } catch (err) {
      await allocation?.undo();
      if (isCode(err, 'NotFound')) throw notFound(info.resource, name, info.group || undefined);
      if (isCode(err, 'Conflict')) throw conflict(info.resource, name, info.group || undefined);
      throw err;
    }
    await allocation?.commit();
    // An object being deleted goes once its last finalizer is removed (pods: once the kubelet is done).
    const m = written.metadata;
    if (m.deletionTimestamp && !(m.finalizers?.length) && !(kind.finishedByOwner && (m.deletionGracePeriodSeconds ?? 0) > 0)) {
      return this.decorate(info, await this.removeNow(info, written));
    }
    return this.decorate(info, written);
  }

  private async updateScale(ref: ResourceRef, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const { info, ns, name } = this.itemRef(ref);
    const replicas = body?.spec?.replicas;
    checkScaleReplicas(name, replicas);
    const wantRv = body?.metadata?.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const stored = await this.load(info, ns, name);
      if (wantRv && wantRv !== stored.metadata.resourceVersion) throw conflict(info.resource, name, info.group || undefined);
      const next = structuredClone(stored);
      kindFor(info).scale!.write(next, replicas ?? 0);
      try {
        return this.scaleOf(info, await this.writeUpdate(info, stored, next, undefined, { ...opts, applied: false, managedSubresource: 'scale' }));
      } catch (err) {
        if (!isCode(err, 'Conflict') || wantRv || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  async patch(ctx: RequestContext, ref: ResourceRef, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<{ object: KubeObject; created: boolean; warnings?: string[] }> {
    this.authorize(ctx, 'patch', ref);
    this.checkSubresource(ref, this.writableSubresources(ref.info));
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
          const applied = applyConfig(info, undefined, body, { manager: opts.fieldManager ?? '' }, Boolean(opts.force));
          await admit(this.admission, { operation: 'CREATE', info, namespace: ns, object: applied, ctx, dryRun: Boolean(opts.dryRun) });
          return { object: await this.createObject(info, applied, { ...opts, applied: true }, ctx), created: true };
        }
        throw notFound(info.resource, name, info.group || undefined);
      }
      if (info.custom && type === 'strategic') {
        throw new ApiError('UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
      }
      const apply = { manager: opts.fieldManager ?? '', subresource: ref.subresource, force: Boolean(opts.force) };
      const scaleApply = type === 'apply' && ref.subresource === 'scale';
      const base = ref.subresource === 'scale' ? this.scaleOf(info, stored) : this.decorate(info, stored);
      const patched = scaleApply ? applyScale(info, this.decorate(info, stored), patch, kindFor(info).scale!.write, apply) : applyPatch(type, base, patch, info, apply);
      const warnings = ref.subresource === 'scale' ? [] : checkPatched(info, type, patch, patched, opts);
      try {
        if (scaleApply) return { object: this.scaleOf(info, await this.writeUpdate(info, stored, patched, undefined, { ...opts, applied: true })), created: false };
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
        const object = await this.writeUpdate(info, stored, obj, ref.subresource, { ...opts, applied: type === 'apply' }, ctx);
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
        const kind = kindFor(info);
        if (kind.delete) return await kind.delete(this.env, stored, dryRun);
        const grace = kind.gracePeriod?.(stored, opts.gracePeriodSeconds) ?? 0;
        // Foreground and Orphan propagation are finalizers the garbage collector acts on and removes.
        const gcFinalizer = propagationFinalizer(opts);
        const finalizers = stored.metadata.finalizers ?? [];
        if (grace > 0 || finalizers.length > 0 || gcFinalizer) {
          return { object: await this.markDeleting(info, stored, grace, dryRun, gcFinalizer), deleted: false };
        }
        if (dryRun) return { object: this.decorate(info, stored), deleted: true };
        const gone = await this.store.delete(this.key(info, ns, name), Number(stored.metadata.resourceVersion));
        await kind.release?.(this.env, gone);
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
      await kindFor(info).release?.(this.env, gone);
      return gone;
    } catch (err) {
      if (isCode(err, 'NotFound')) return obj;
      throw err;
    }
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
    return watchObjects({
      store: this.store, info, prefix: storagePrefix(PREFIX, info, ref.namespace), match: this.matcher(info, opts, ref.name),
      decorate: (o) => this.decorate(info, o), waitForRevision: (rv) => this.waitForRevision(rv),
      bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 10_000,
    }, opts);
  }

  // ---- bootstrap -----------------------------------------------------------------------

  /** The namespaces and the `kubernetes` Service every cluster starts with; resumes unfinished namespace deletions. */
  async bootstrap(): Promise<void> {
    await createInitialObjects({ store: this.store, allocator: this.allocator, create: (info, obj) => this.createObject(info, obj, {}) });
    await this.namespaces.start();
  }

  /** Stop background work (the namespace watch). The store is closed by its owner. */
  close(): void {
    this.namespaces.close();
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
