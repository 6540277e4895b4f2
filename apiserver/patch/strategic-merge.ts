// Kubernetes strategic merge patch over plain JSON. The patchStrategy/patchMergeKey tags of k8s.io/api are
// keyed here by field name (they are consistent across the built-in kinds), with `ports` disambiguated by
// shape: container ports merge by containerPort, service ports by port.
import { ApiError } from '../../api/errors.ts';
import { getOwn, hasOwn, setOwn } from '../../api/own.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** field name → merge key for lists of objects merged by key. */
export const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', volumeDevices: 'devicePath', imagePullSecrets: 'name', conditions: 'type',
  ownerReferences: 'uid', hostAliases: 'ip', topologySpreadConstraints: 'topologyKey', secrets: 'name',
  resourceClaims: 'name', schedulingGates: 'name', readinessGates: 'conditionType', podIPs: 'ip', hostIPs: 'ip',
  addresses: 'type', taints: 'key',
};
/** Primitive lists merged as sets (patchStrategy=merge). */
export const SET_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  if (field === 'ports') {
    const first = items.find(isObj);
    if (!first) return undefined;
    if (hasOwn(first, 'containerPort')) return 'containerPort';
    if (hasOwn(first, 'port')) return 'port';
    return undefined;
  }
  return getOwn(MERGE_KEYS, field) as string | undefined;
}

export function applyStrategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) throw new ApiError('BadRequest', 'strategic merge patch must be a JSON object');
  const res = mergeMap(isObj(original) ? structuredClone(original) : {}, structuredClone(patch));
  return res ?? {};
}

/** Returns undefined when the map is deleted by `$patch: delete`. */
function mergeMap(orig: Obj, patch: Obj): Obj | undefined {
  const directive = getOwn(patch, '$patch');
  if (directive !== undefined) {
    delete patch.$patch;
    if (directive === 'delete') return undefined;
    if (directive === 'replace') return stripDirectives(patch) as Obj;
    if (directive !== 'merge') throw new ApiError('BadRequest', `strategic merge patch: unknown $patch "${String(directive)}"`);
  }
  let out: Obj = { ...orig };
  if (hasOwn(patch, '$retainKeys')) {
    const keep = patch.$retainKeys;
    delete patch.$retainKeys;
    if (!Array.isArray(keep)) throw new ApiError('BadRequest', 'strategic merge patch: $retainKeys must be a list');
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.includes(k)));
  }
  const orders: Record<string, unknown[]> = {};
  for (const k of Object.keys(patch)) {
    if (k.startsWith('$setElementOrder/')) {
      const o = patch[k];
      if (!Array.isArray(o)) throw new ApiError('BadRequest', `strategic merge patch: ${k} must be a list`);
      orders[k.slice('$setElementOrder/'.length)] = o;
      delete patch[k];
    } else if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const del = patch[k];
      if (!Array.isArray(del)) throw new ApiError('BadRequest', `strategic merge patch: ${k} must be a list`);
      const cur = getOwn(out, field);
      if (Array.isArray(cur)) setOwn(out, field, cur.filter((x) => !del.includes(x)));
      delete patch[k];
    }
  }
  for (const [k, pv] of Object.entries(patch)) {
    if (k.startsWith('$')) throw new ApiError('BadRequest', `strategic merge patch: unknown directive "${k}"`);
    if (pv === null) { delete out[k]; continue; }
    const ov = getOwn(out, k);
    if (isObj(pv)) {
      const m = mergeMap(isObj(ov) ? ov : {}, pv);
      if (m === undefined) delete out[k]; else setOwn(out, k, m);
    } else if (Array.isArray(pv)) {
      setOwn(out, k, mergeList(k, Array.isArray(ov) ? ov : [], pv));
    } else {
      setOwn(out, k, pv);
    }
  }
  for (const [field, order] of Object.entries(orders)) {
    const cur = getOwn(out, field);
    if (Array.isArray(cur)) setOwn(out, field, applyOrder(field, cur, order));
  }
  return out;
}

function mergeList(field: string, orig: unknown[], patch: unknown[]): unknown[] {
  const replaceIdx = patch.findIndex((x) => isObj(x) && getOwn(x, '$patch') === 'replace' && Object.keys(x).length === 1);
  if (replaceIdx >= 0) return stripDirectives(patch.filter((_, i) => i !== replaceIdx)) as unknown[];
  if (SET_LISTS.has(field)) {
    const out = [...orig];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const key = mergeKeyFor(field, [...patch, ...orig]);
  if (!key) return stripDirectives(patch) as unknown[];
  const out = [...orig];
  for (const item of patch) {
    if (!isObj(item)) throw new ApiError('BadRequest', `strategic merge patch: ${field} items must be objects`);
    if (!hasOwn(item, key)) throw new ApiError('BadRequest', `strategic merge patch: ${field} item lacks merge key "${key}"`);
    const idx = out.findIndex((o) => isObj(o) && getOwn(o, key) === item[key]);
    if (getOwn(item, '$patch') === 'delete') { if (idx >= 0) out.splice(idx, 1); continue; }
    if (idx >= 0) {
      const m = mergeMap(out[idx] as Obj, item);
      if (m === undefined) out.splice(idx, 1); else out[idx] = m;
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

/** Orders a merged list by `$setElementOrder`; items not named there keep their place after the named ones. */
function applyOrder(field: string, list: unknown[], order: unknown[]): unknown[] {
  const key = SET_LISTS.has(field) ? undefined : mergeKeyFor(field, [...order, ...list]);
  const id = (x: unknown) => (key && isObj(x) ? getOwn(x, key) : x);
  const wanted = order.map(id);
  const named = wanted.flatMap((w) => list.filter((x) => id(x) === w));
  const rest = list.filter((x) => !wanted.includes(id(x)));
  return [...named, ...rest];
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) setOwn(out, k, stripDirectives(x));
  return out;
}
