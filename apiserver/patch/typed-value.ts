// structured-merge-diff's operations on a value of a known type (field-types.ts): the set of fields a value
// sets, the fields that differ between two values, the merge of an applied configuration into a live object,
// and the removal of a set of fields from an object.
import { FieldSet, fieldElement, keyElement, valueElement } from './fieldset.ts';
import { itemKey, type FieldType, type ListType } from './field-types.ts';
import { getOwn, setOwn } from '../../api/own.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Values merged field by field (or key by key). */
const granular = (t: FieldType) => t.kind === 'struct' || t.kind === 'map' || t.kind === 'deduced';
const granularList = (t: FieldType): t is FieldType & { list: ListType } => t.kind === 'list' && t.list !== undefined && t.list.type !== 'atomic';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isObj(a) || !isObj(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** The path element of a list item: its key fields (map lists), its value (sets), else its index. */
function element(x: unknown, i: number, list: ListType): string {
  if (list.type === 'set') return valueElement(x);
  if (list.type === 'map') {
    const key = itemKey(x, list);
    if (key) return keyElement(key);
  }
  return `i:${i}`;
}

/** The fields a value sets, as an applied configuration owns them (structured-merge-diff's ToFieldSet): leaves, map keys, list items. */
export function toFieldSet(v: unknown, t: FieldType): FieldSet {
  const set = new FieldSet();
  walkSet(v, t, [], set);
  return set;
}

function walkSet(v: unknown, t: FieldType, path: string[], set: FieldSet): void {
  if (v === undefined) return;
  if (isObj(v) && granular(t)) {
    // A struct's fields are paths through it; a map's keys are members themselves. An empty map owns nothing.
    for (const k of Object.keys(v)) {
      const p = [...path, fieldElement(k)];
      walkSet(getOwn(v, k), t.child(k), p, set);
      if (t.kind !== 'struct') set.insert(p);
    }
    return;
  }
  if (Array.isArray(v) && granularList(t)) {
    v.forEach((x, i) => {
      const p = [...path, element(x, i, t.list)];
      set.insert(p);
      if (t.list.type === 'map' && isObj(x) && granular(t.item())) for (const k of Object.keys(x)) walkSet(getOwn(x, k), t.item().child(k), [...p, fieldElement(k)], set);
    });
    return;
  }
  if (path.length) set.insert(path);
}

export interface Comparison { added: FieldSet; modified: FieldSet; removed: FieldSet }

/** The fields that differ from `a` to `b`. Added Go maps and list items are members themselves (`.`). */
export function compare(a: unknown, b: unknown, t: FieldType): Comparison {
  const r: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  cmp(a, b, t, [], r);
  return r;
}

export const changed = (c: Comparison) => c.added.union(c.modified).union(c.removed);

function cmp(a: unknown, b: unknown, t: FieldType, path: string[], r: Comparison): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined) { added(b, t, path, r.added); return; }
  if (b === undefined) { if (path.length) r.removed.insert(path); walkSet(a, t, path, r.removed); return; }
  if (isObj(a) && isObj(b) && granular(t)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) cmp(getOwn(a, k), getOwn(b, k), t.child(k), [...path, fieldElement(k)], r);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && granularList(t)) {
    const list = t.list;
    const byA = new Map(a.map((x, i) => [element(x, i, list), x]));
    b.forEach((x, i) => {
      const e = element(x, i, list);
      const p = [...path, e];
      if (!byA.has(e)) { added(x, t.item(), p, r.added); return; }
      const old = byA.get(e);
      byA.delete(e);
      if (list.type === 'map' && isObj(old) && isObj(x) && granular(t.item())) {
        for (const k of new Set([...Object.keys(old), ...Object.keys(x)])) cmp(getOwn(old, k), getOwn(x, k), t.item().child(k), [...p, fieldElement(k)], r);
      } else if (!deepEqual(old, x)) r.modified.insert(p);
    });
    for (const [e, x] of byA) { r.removed.insert([...path, e]); walkSet(x, t.item(), [...path, e], r.removed); }
    return;
  }
  if (!deepEqual(a, b)) r.modified.insert(path);
}

/**
 * Struct fields that are not pointers in k8s.io/api: they exist (empty) in the zero object an update is compared
 * with, so adding them does not add the struct itself (`.`), as it does for pointer structs and Go maps.
 */
const VALUE_STRUCTS = new Set(['f:metadata', 'f:spec', 'f:status', 'f:template', 'f:strategy', 'f:updateStrategy', 'f:resources',
  'f:jobTemplate', 'f:nodeInfo', 'f:daemonEndpoints', 'f:kubeletEndpoint', 'f:state', 'f:lastState']);
/** List fields without omitempty in k8s.io/api: null, not absent, in the zero object, so adding them adds no `.`. */
const VALUE_LISTS = new Set(['f:containers', 'f:rules']);

function added(v: unknown, t: FieldType, path: string[], set: FieldSet): void {
  const last = path[path.length - 1]!;
  if (isObj(v) && granular(t)) {
    const keys = Object.keys(v);
    if (path.length && (!keys.length || t.kind !== 'struct' || !t.typed || !VALUE_STRUCTS.has(last))) set.insert(path);
    for (const k of keys) added(getOwn(v, k), t.child(k), [...path, fieldElement(k)], set);
    return;
  }
  if (Array.isArray(v) && granularList(t)) {
    if (path.length && (!v.length || !t.typed || !VALUE_LISTS.has(last))) set.insert(path);
    v.forEach((x, i) => added(x, t.item(), [...path, element(x, i, t.list)], set));
    return;
  }
  if (path.length) set.insert(path);
}

/** The applied configuration merged into the live object: maps by field, map lists by key, sets by value; a null removes. */
export function merge(live: unknown, config: unknown, t: FieldType): unknown {
  if (config === undefined) return structuredClone(live);
  if (config === null) return undefined;
  if (isObj(live) && isObj(config) && granular(t)) {
    const out: Obj = { ...live };
    for (const k of Object.keys(config)) {
      const v = merge(getOwn(live, k), getOwn(config, k), t.child(k));
      if (v === undefined) delete out[k]; else setOwn(out, k, v);
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config) && granularList(t)) {
    const list = t.list;
    if (list.type === 'set') return [...live, ...config.filter((x) => !live.some((y) => deepEqual(x, y)))];
    const out = live.map((x) => structuredClone(x));
    const ids = out.map((x, i) => element(x, i, list));
    config.forEach((x, i) => {
      const at = ids.indexOf(element(x, i, list));
      if (at >= 0) out[at] = merge(out[at], x, t.item());
      else { out.push(structuredClone(x)); ids.push(element(x, i, list)); }
    });
    return out;
  }
  return structuredClone(config);
}

/** Remove from `obj` (in place) each member of `remove`, unless something at or under it is in `keep`. */
export function removeFields(obj: unknown, remove: FieldSet, keep: FieldSet, t: FieldType): void {
  prune(obj, remove, keep, t, []);
}

function prune(v: unknown, node: FieldSet, keep: FieldSet, t: FieldType, path: string[]): void {
  if (isObj(v)) {
    for (const [e, child] of node.kids) {
      if (!e.startsWith('f:')) continue;
      const k = e.slice(2);
      if (!Object.hasOwn(v, k)) continue;
      const p = [...path, e];
      const ct = t.child(k);
      if (child.self && !keep.hasWithin(p)) { delete v[k]; continue; }
      prune(getOwn(v, k), child, keep, ct, p);
      // An emptied Go map or list is dropped, as Go's omitempty drops it.
      const after = getOwn(v, k);
      const emptied = ct.kind === 'map' && isObj(after) && !Object.keys(after).length || Array.isArray(after) && !after.length;
      if (emptied && !keep.has(p)) delete v[k];
    }
    return;
  }
  if (Array.isArray(v) && granularList(t)) {
    const list = t.list;
    const drop = new Set<number>();
    v.forEach((x, i) => {
      const e = element(x, i, list);
      const child = node.kids.get(e);
      if (!child) return;
      const p = [...path, e];
      if (child.self && !keep.hasWithin(p)) drop.add(i);
      else if (list.type === 'map') prune(x, child, keep, t.item(), p);
    });
    if (drop.size) {
      const kept = v.filter((_, i) => !drop.has(i));
      v.splice(0, v.length, ...kept);
    }
  }
}
