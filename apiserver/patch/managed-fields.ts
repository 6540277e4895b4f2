// metadata.managedFields, as kube-apiserver's field manager keeps them: one entry per manager (and operation,
// and for updates apiVersion, and subresource) with the set of fields it owns. An update takes the fields it
// changes (from whoever owned them); an apply owns exactly its configuration: fields it stops applying are
// removed unless someone else owns them, and changing another manager's field is a conflict unless forced.
import { ApiError, fieldTooLong, type FieldError } from '../../api/errors.ts';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { FieldSet, pathString } from './fieldset.ts';
import { typeOf } from './field-types.ts';
import { changed, compare, deepEqual, merge, removeFields, toFieldSet } from './typed-value.ts';

export const FIELD_MANAGER_MAX_LENGTH = 128;

type Operation = 'Apply' | 'Update';

interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

export interface ManagedWrite {
  manager: string;
  /** 'status' or 'scale' when the write is to that subresource. */
  subresource?: string;
}

/** kube-apiserver's default manager: the User-Agent up to its first `/`, printable characters only, at most 128 bytes. */
export function managerFromUserAgent(ua: string | undefined): string {
  let out = '';
  for (const ch of (ua ?? '').split('/')[0]!) {
    if (!/\P{C}/u.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

/** ValidateFieldManager's errors for a fieldManager query parameter. */
export function fieldManagerErrors(fm: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!fm) return errs;
  if (Buffer.byteLength(fm) > FIELD_MANAGER_MAX_LENGTH) errs.push(fieldTooLong('fieldManager', FIELD_MANAGER_MAX_LENGTH));
  let i = 0;
  for (const ch of fm) {
    if (!/\P{C}/u.test(ch)) {
      const cp = ch.codePointAt(0)!;
      errs.push({ type: 'FieldValueInvalid', field: 'fieldManager', detail: `Invalid value: ${JSON.stringify(fm)}: invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})` });
    }
    i += Buffer.byteLength(ch);
  }
  return errs;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A manager's identity, as BuildManagerIdentifier encodes it (appliers without apiVersion). */
const identity = (m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>) =>
  JSON.stringify([m.manager, m.operation, m.operation === 'Update' ? m.apiVersion : '', m.subresource ?? '']);

/** How a conflict names its manager: by name, with its subresource; updaters with the version they used. */
function printManager(m: Manager): string {
  const name = JSON.stringify(m.manager) + (m.subresource ? ` with subresource ${JSON.stringify(m.subresource)}` : '');
  return m.operation === 'Update' ? `${name} using ${m.apiVersion}` : name;
}

function decode(list: unknown): Manager[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: Manager[] = [];
  for (const e of list) {
    if (typeof e !== 'object' || e === null) return undefined;
    const x = e as Record<string, unknown>;
    if (x.fieldsType !== undefined && x.fieldsType !== 'FieldsV1') return undefined;
    if (x.operation !== 'Apply' && x.operation !== 'Update') {
      if (!x.manager && !x.operation) continue; // `[{}]`: the documented way to reset managedFields
      return undefined;
    }
    let set: FieldSet;
    try { set = FieldSet.fromFieldsV1(x.fieldsV1 ?? {}); } catch { return undefined; }
    out.push({
      manager: String(x.manager ?? ''), operation: x.operation, apiVersion: String(x.apiVersion ?? ''), set,
      ...(typeof x.time === 'string' ? { time: x.time } : {}), ...(x.subresource ? { subresource: String(x.subresource) } : {}),
    });
  }
  return out;
}

/** The entries, sorted as kube-apiserver sorts them (operation, time, manager, apiVersion, subresource). */
function encode(managers: Manager[]): unknown[] {
  const secs = (m: Manager) => (m.time ? Date.parse(m.time) : 0);
  return managers.filter((m) => !m.set.empty())
    .sort((p, q) => (p.operation !== q.operation ? (p.operation < q.operation ? -1 : 1) : secs(p) - secs(q)
      || cmpStr(p.manager, q.manager) || cmpStr(p.apiVersion, q.apiVersion) || cmpStr(p.subresource ?? '', q.subresource ?? '')))
    .map((m) => ({
      // A client with neither fieldManager nor User-Agent has an unnamed entry (Go's omitempty drops the name).
      ...(m.manager ? { manager: m.manager } : {}), operation: m.operation, apiVersion: m.apiVersion, ...(m.time ? { time: m.time } : {}),
      fieldsType: 'FieldsV1', fieldsV1: m.set.toFieldsV1(), ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}
const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const META_STRIPPED = ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'];

/** Fields nobody owns: identity and server-set metadata, and what the written part of the object resets (stripMeta, GetResetFields). */
function strip(set: FieldSet, info: ResourceInfo, subresource: string | undefined): FieldSet {
  const drop = new FieldSet().insert(['f:apiVersion']).insert(['f:kind']);
  for (const f of META_STRIPPED) drop.insert(['f:metadata', `f:${f}`]);
  if (subresource === 'status') drop.insert(['f:spec']);
  else if (info.subresources.includes('status')) drop.insert(['f:status']);
  const out = set.withoutSubtrees(drop);
  // The metadata struct itself is never a member.
  const meta = out.kids.get('f:metadata');
  if (meta) meta.self = false;
  return out;
}

const managersOf = (obj: KubeObject | undefined) => decode(obj?.metadata?.managedFields) ?? [];

/**
 * Record an update (create, update, non-apply patch) by `w.manager` on `next`, in place: it owns what it
 * changed from `prev` (undefined for a create), and those fields leave their other owners. Managed fields
 * sent in the body replace the stored ones, unless empty (clients that do not know them keep them).
 */
export function recordUpdate(info: ResourceInfo, prev: KubeObject | undefined, next: KubeObject, w: ManagedWrite): void {
  const sent = w.subresource ? undefined : decode(next.metadata.managedFields);
  const managers = sent && (next.metadata.managedFields as unknown[]).length ? sent : managersOf(prev);
  const t = typeOf(info);
  const strippedPrev = prev ? withoutManaged(prev) : undefined;
  const c = compare(strippedPrev, withoutManaged(next), t);
  const taken = strip(changed(c), info, w.subresource);
  const removed = strip(c.removed, info, w.subresource);
  const apiVersion = apiVersionOf(info);
  const me = { manager: w.manager, operation: 'Update' as const, apiVersion, subresource: w.subresource };
  const out: Manager[] = [];
  let mine: Manager | undefined;
  for (const m of managers) {
    if (identity(m) === identity(me)) { mine = m; continue; }
    out.push({ ...m, set: m.set.difference(taken).withoutSubtrees(removed) });
  }
  const took = strip(c.added.union(c.modified), info, w.subresource);
  const set = (mine?.set ?? new FieldSet()).withoutSubtrees(removed).union(took);
  // The time moves only when this write took fields (managedFieldsUpdater).
  out.push({ ...me, time: took.empty() && mine?.time ? mine.time : now(), set });
  setManaged(next, out);
}

/**
 * Server-side apply of `config` to `live` (undefined: the object is created) by `w.manager`: the merged
 * object, with its managedFields. Throws the 409 Kubernetes returns for conflicts unless `force`.
 */
export function applyConfig(info: ResourceInfo, live: KubeObject | undefined, config: KubeObject, w: ManagedWrite, force: boolean): KubeObject {
  if (config.metadata?.managedFields !== undefined && config.metadata.managedFields !== null) throw new ApiError('BadRequest', 'metadata.managedFields must be nil');
  const t = typeOf(info);
  const cfg = withoutManaged(config);
  const base = live ? withoutManaged(live) : undefined;
  const managers = managersOf(live);
  const me = { manager: w.manager, operation: 'Apply' as const, apiVersion: apiVersionOf(info), subresource: w.subresource };
  const merged = merge(base ?? {}, cfg, t) as KubeObject;
  const diff = strip(changed(compare(base, merged, t)), info, w.subresource);
  const conflicts: { manager: Manager; path: string[] }[] = [];
  for (const m of [...managers].sort((a, b) => cmpStr(printManager(a), printManager(b)))) {
    if (identity(m) === identity(me)) continue;
    for (const p of m.set.intersection(diff).sortedPaths()) conflicts.push({ manager: m, path: p });
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  const previous = managers.find((m) => identity(m) === identity(me));
  const last = previous?.set ?? new FieldSet();
  const applied = strip(toFieldSet(cfg, t), info, w.subresource);
  const out: Manager[] = managers.filter((m) => identity(m) !== identity(me)).map((m) => ({ ...m, set: m.set.difference(diff) }));
  const mine: Manager = { ...me, time: now(), set: applied };
  out.push(mine);
  // What this manager applied last time and nobody owns now is removed.
  const owned = out.reduce((s, m) => s.union(m.set), new FieldSet());
  removeFields(merged, last.difference(owned), owned, t);
  // A no-op apply (same object, same fields) keeps its time.
  const same = previous?.time && deepEqual(merged, base) && last.difference(applied).empty() && applied.difference(last).empty();
  if (same) mine.time = previous.time;
  merged.metadata ??= {};
  setManaged(merged, out);
  return merged;
}

function conflictError(conflicts: { manager: Manager; path: string[] }[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const k = printManager(c.manager);
      byManager.set(k, [...(byManager.get(k) ?? []), `- ${pathString(c.path)}`]);
    }
    const lines = [...byManager.keys()].sort().flatMap((k) => [`conflicts with ${k}:`, ...byManager.get(k)!]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError('Conflict', message, { causes });
}

function withoutManaged(obj: KubeObject): KubeObject {
  if (!obj.metadata || obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _m, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

/** kube-apiserver keeps at most this many update entries; older ones are merged into one per apiVersion. */
export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT = 'ancient-changes';

/** capManagersManager: merge the oldest updaters into an `ancient-changes` entry per apiVersion until at most 10 remain. */
function capUpdates(managers: Manager[]): Manager[] {
  const live = managers.filter((m) => !m.set.empty());
  const updaters = live.filter((m) => m.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return live;
  const secs = (m: Manager) => (m.time ? Math.floor(Date.parse(m.time) / 1000) : 0);
  updaters.sort((a, b) => secs(a) - secs(b) || cmpStr(identity(a), identity(b)));
  const gone = new Set<Manager>();
  const first = new Map<string, Manager>();
  const buckets = new Map<string, Manager>();
  let count = updaters.length;
  for (const m of updaters) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const seen = first.get(m.apiVersion);
    if (!seen) { first.set(m.apiVersion, m); continue; }
    let bucket = buckets.get(m.apiVersion);
    if (!bucket) {
      bucket = { manager: ANCIENT, operation: 'Update', apiVersion: m.apiVersion, set: seen.set };
      buckets.set(m.apiVersion, bucket);
      gone.add(seen);
    }
    bucket.set = m.set.union(bucket.set);
    bucket.time = m.time;
    gone.add(m);
    count--;
  }
  return [...live.filter((m) => !gone.has(m)), ...buckets.values()];
}

function setManaged(obj: KubeObject, managers: Manager[]): void {
  const list = encode(capUpdates(managers));
  if (list.length) obj.metadata.managedFields = list; else delete obj.metadata.managedFields;
}
