// What server-side apply needs to know of a kind's schema: which values are structs (merged field by field),
// Go maps (merged key by key), atomic (replaced whole), and how each list merges: `map` lists by their
// key fields, `set` lists by value, `atomic` lists replaced whole. Built-in kinds read it from schemas.json
// and the strategic-merge keys (the two agree for the built-in kinds); custom kinds from their CRD's
// x-kubernetes-list-type / x-kubernetes-list-map-keys / x-kubernetes-map-type.
import { apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
import { schemas, rootType } from '../../api/schema/check.ts';
import { MERGE_KEYS, SET_LISTS } from './strategic-merge.ts';

export type ListType = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[]; defaults: Record<string, unknown> };

export interface FieldType {
  /** struct: named fields; map: Go map (its `.` is recorded when added); deduced: unknown shape (maps granular, lists atomic). */
  kind: 'scalar' | 'struct' | 'map' | 'list' | 'atomic' | 'deduced';
  list?: ListType;
  /** A typed (Go) struct or list, whose value fields exist in its zero value; custom kinds' objects are unstructured. */
  typed?: boolean;
  child(key: string): FieldType;
  item(): FieldType;
}

const DEDUCED: FieldType = { kind: 'deduced', child: () => DEDUCED, item: () => DEDUCED };
const SCALAR: FieldType = { kind: 'scalar', child: () => DEDUCED, item: () => DEDUCED };
const ATOMIC: FieldType = { kind: 'atomic', child: () => DEDUCED, item: () => DEDUCED };

/** Structs and maps marked +structType=atomic / +mapType=atomic in k8s.io/api. */
const ATOMIC_TYPES = new Set(['V1LabelSelector', 'V1ObjectReference', 'V1LocalObjectReference', 'V1OwnerReference', 'V1NodeSelector', 'V1TypedLocalObjectReference']);
const ATOMIC_FIELDS = new Set(['V1ServiceSpec.selector', 'V1ReplicationControllerSpec.selector', 'V1NodeSpec.taints', 'V1NamespaceSpec.finalizers']);
/** List-map keys where k8s.io/api has more than the strategic merge key (protocol defaults to TCP). */
const LIST_KEYS: Record<string, { keys: string[]; defaults: Record<string, unknown> }> = {
  V1ContainerPort: { keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } },
  V1ServicePort: { keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } },
  V1TopologySpreadConstraint: { keys: ['topologyKey', 'whenUnsatisfiable'], defaults: {} },
};

function builtin(type: string | undefined, parent = '', field = ''): FieldType {
  if (type === undefined || type === 'object') return DEDUCED;
  if (ATOMIC_TYPES.has(type) || ATOMIC_FIELDS.has(`${parent}.${field}`)) return ATOMIC;
  if (type.startsWith('[]')) {
    const elem = type.slice(2);
    const list: ListType = LIST_KEYS[elem] ? { type: 'map', ...LIST_KEYS[elem] }
      : Object.hasOwn(MERGE_KEYS, field) && field !== 'ports' && schemas().types[elem] ? { type: 'map', keys: [MERGE_KEYS[field]!], defaults: {} }
        : SET_LISTS.has(field) ? { type: 'set' } : { type: 'atomic' };
    const item = builtin(elem);
    return { kind: 'list', list, typed: true, child: () => DEDUCED, item: () => item };
  }
  if (type.startsWith('map[')) {
    const value = builtin(type.slice(4, -1));
    return { kind: 'map', child: () => value, item: () => DEDUCED };
  }
  const fields = schemas().types[type];
  if (!fields) return SCALAR;
  return { kind: 'struct', typed: true, child: (k) => builtin(Object.hasOwn(fields, k) ? fields[k] : undefined, type, k), item: () => DEDUCED };
}

type Schema = Record<string, any>;

function fromSchema(s: Schema | undefined, embedded = false): FieldType {
  if (!s) return DEDUCED;
  const meta = embedded ? builtin('V1ObjectMeta') : undefined;
  if (s.type === 'array') {
    const lt = s['x-kubernetes-list-type'];
    const list: ListType = lt === 'map' ? { type: 'map', keys: s['x-kubernetes-list-map-keys'] ?? [], defaults: keyDefaults(s) } : lt === 'set' ? { type: 'set' } : { type: 'atomic' };
    const item = fromSchema(s.items, Boolean(s.items?.['x-kubernetes-embedded-resource']));
    return { kind: 'list', list, child: () => DEDUCED, item: () => item };
  }
  if (s.type === 'object' || s.properties || s.additionalProperties) {
    if (s['x-kubernetes-map-type'] === 'atomic') return ATOMIC;
    const props: Schema = s.properties ?? {};
    const extra = typeof s.additionalProperties === 'object' ? fromSchema(s.additionalProperties) : DEDUCED;
    if (!s.properties && !embedded) return { kind: s.additionalProperties ? 'map' : 'deduced', child: () => extra, item: () => DEDUCED };
    return {
      kind: 'struct', item: () => DEDUCED,
      child: (k) => (meta && k === 'metadata' ? meta : Object.hasOwn(props, k) ? fromSchema(props[k], Boolean(props[k]['x-kubernetes-embedded-resource'])) : extra),
    };
  }
  return s.type ? SCALAR : DEDUCED;
}

/** A list-map's key fields' defaults, from the item schema. */
function keyDefaults(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of s['x-kubernetes-list-map-keys'] ?? []) {
    const d = s.items?.properties?.[k]?.default;
    if (d !== undefined) out[k] = d;
  }
  return out;
}

/** The type of a kind's objects. */
export function typeOf(info: ResourceInfo): FieldType {
  if (info.custom) return fromSchema(info.custom.schema, true);
  const root = rootType(apiVersionOf(info), info.kind);
  return root ? builtin(root) : { kind: 'struct', child: (k) => (k === 'metadata' ? builtin('V1ObjectMeta') : DEDUCED), item: () => DEDUCED };
}

/** The key element of a list-map item (missing key fields take their default), or undefined when it has none. */
export function itemKey(item: unknown, list: ListType & { type: 'map' }): Record<string, unknown> | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const key: Record<string, unknown> = {};
  for (const k of list.keys) {
    const v = Object.hasOwn(item, k) ? (item as Record<string, unknown>)[k] : list.defaults[k];
    if (v !== undefined) key[k] = v;
  }
  return Object.keys(key).length ? key : undefined;
}
