// RFC 6902 JSON Patch. Works on a deep copy; the input is never mutated.
import { ApiError } from '../../api/errors.ts';
import { hasOwn, setOwn } from '../../api/own.ts';

type Json = unknown;
interface Op { op: string; path: string; value?: Json; from?: string }

const clone = <T>(v: T): T => structuredClone(v);

function parsePointer(p: unknown): string[] {
  if (typeof p !== 'string') throw new ApiError('BadRequest', 'json patch: path must be a string');
  if (p === '') return [];
  if (!p.startsWith('/')) throw new ApiError('BadRequest', `json patch: invalid path "${p}"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayIndex(arr: unknown[], tok: string, forAdd: boolean, path: string): number {
  if (tok === '-' && forAdd) return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(tok)) throw new ApiError('Invalid', `json patch: invalid array index "${tok}" in ${path}`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new ApiError('Invalid', `json patch: array index ${i} out of bounds in ${path}`);
  return i;
}

function parentOf(doc: Json, toks: string[], path: string): Json {
  let cur = doc;
  for (const t of toks.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)];
    else if (isObj(cur) && hasOwn(cur, t)) cur = cur[t];
    else throw new ApiError('Invalid', `json patch: path ${path} does not exist`);
  }
  return cur;
}

function get(doc: Json, path: string): Json {
  const toks = parsePointer(path);
  if (toks.length === 0) return doc;
  const parent = parentOf(doc, toks, path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false, path)];
  if (isObj(parent) && hasOwn(parent, last)) return parent[last];
  throw new ApiError('Invalid', `json patch: path ${path} does not exist`);
}

function add(doc: Json, path: string, value: Json): Json {
  const toks = parsePointer(path);
  if (toks.length === 0) return value;
  const parent = parentOf(doc, toks, path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, path), 0, value);
  else if (isObj(parent)) setOwn(parent, last, value);
  else throw new ApiError('Invalid', `json patch: cannot add at ${path}`);
  return doc;
}

function remove(doc: Json, path: string): Json {
  const toks = parsePointer(path);
  if (toks.length === 0) throw new ApiError('Invalid', 'json patch: cannot remove the whole document');
  const parent = parentOf(doc, toks, path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, path), 1);
  else if (isObj(parent) && hasOwn(parent, last)) delete parent[last];
  else throw new ApiError('Invalid', `json patch: path ${path} does not exist`);
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function applyJsonPatch(original: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new ApiError('BadRequest', 'json patch must be an array of operations');
  let doc = clone(original);
  for (const raw of patch) {
    if (!isObj(raw) || typeof raw.op !== 'string') throw new ApiError('BadRequest', 'json patch: each operation needs an "op"');
    const op = raw as unknown as Op;
    switch (op.op) {
      case 'add':
        if (!hasOwn(op, 'value')) throw new ApiError('BadRequest', 'json patch: add needs a value');
        doc = add(doc, op.path, clone(op.value)); break;
      case 'remove': doc = remove(doc, op.path); break;
      case 'replace':
        if (!hasOwn(op, 'value')) throw new ApiError('BadRequest', 'json patch: replace needs a value');
        get(doc, op.path);
        doc = parsePointer(op.path).length === 0 ? clone(op.value) : add(remove(doc, op.path), op.path, clone(op.value));
        break;
      case 'move': {
        const v = get(doc, op.from ?? '');
        if (typeof op.from !== 'string') throw new ApiError('BadRequest', 'json patch: move needs "from"');
        if (op.path.startsWith(op.from + '/')) throw new ApiError('Invalid', 'json patch: cannot move a value into itself');
        doc = add(remove(doc, op.from), op.path, v); break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new ApiError('BadRequest', 'json patch: copy needs "from"');
        doc = add(doc, op.path, clone(get(doc, op.from))); break;
      }
      case 'test':
        if (!deepEqual(get(doc, op.path), op.value)) throw new ApiError('Invalid', `json patch: test operation failed at ${op.path}`);
        break;
      default: throw new ApiError('BadRequest', `json patch: unknown op "${op.op}"`);
    }
  }
  return doc;
}
