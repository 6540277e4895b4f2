// Decodes `application/vnd.kubernetes.protobuf` request bodies (kubectl 1.32+ `create <kind>`) into the JSON
// object the REST path would have received: what Go's encoding/json prints for the object kubectl encoded.
// The messages are Kubernetes' own (proto/k8s/descriptor.json, made by scripts/gen-proto.ts), loaded once, lazily.
// The wire is walked field by field, so a field the descriptor does not know is refused (415), never dropped.
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { ROOT } from '../../lib/root.ts';
import { PROTOBUF_KINDS, UNKNOWN_MESSAGE } from './protobuf-kinds.ts';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const DESCRIPTOR = path.join(ROOT, 'proto/k8s/descriptor.json');

const KINDS = new Map(PROTOBUF_KINDS.map((k) => [`${k.apiVersion}/${k.kind}`, k.message]));

let root: protobuf.Root | undefined;
export function protobufRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(DESCRIPTOR, 'utf8')));
    root.resolveAll();
  }
  return root;
}

type Obj = Record<string, unknown>;

/** Kubernetes' 415 sentence, then why this body is not decodable whole. */
const unsupported = (why: string) => new ApiError('UnsupportedMediaType',
  `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${why})`);

/** Bytes that are not a valid encoding of the message: a BadRequest (a 415 is for valid bodies kubemu cannot read whole). */
class Malformed extends Error {}

const WIRE: Record<string, number> = { string: 2, bytes: 2, bool: 0, int32: 0, int64: 0, uint32: 0, uint64: 0, double: 1, float: 5 };

function readScalar(r: protobuf.Reader, type: string): unknown {
  switch (type) {
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    case 'bool': return r.bool();
    case 'int32': return r.int32();
    case 'uint32': return r.uint32();
    case 'int64': case 'uint64': {
      const v = type === 'int64' ? r.int64() : r.uint64();
      return typeof v === 'number' ? v : Number(v.toString());
    }
    case 'double': return r.double();
    case 'float': return r.float();
    default: throw new Malformed(`no scalar type ${type}`);
  }
}

/** 0001-01-01T00:00:00Z … 9999-12-31T23:59:59Z, the range RFC 3339 can print. */
const MIN_SECONDS = -62135596800, MAX_SECONDS = 253402300799;

const isZero = (v: unknown) => v === 0 || v === false || v === '';

/** Messages with their own JSON form (Go's MarshalJSON); undefined for ordinary messages. */
function ownJson(type: protobuf.Type, bytes: Uint8Array): { value: unknown } | undefined {
  switch (type.fullName) {
    case '.k8s.io.apimachinery.pkg.apis.meta.v1.Time': case '.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime': {
      // An empty message is the zero time (JSON null); Time keeps whole seconds, MicroTime microseconds.
      if (bytes.length === 0) return { value: null };
      const t = decodeFields(type, bytes);
      const seconds = Number(t.seconds ?? 0);
      if (!(seconds >= MIN_SECONDS && seconds <= MAX_SECONDS)) throw new Malformed(`${type.name} seconds ${seconds} out of range`);
      const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
      if (type.name === 'Time') return { value: `${iso}Z` };
      return { value: `${iso}.${String(Math.floor(Number(t.nanos ?? 0) / 1000)).padStart(6, '0')}Z` };
    }
    case '.k8s.io.apimachinery.pkg.api.resource.Quantity': {
      const q = decodeFields(type, bytes);
      return { value: q.string === undefined ? '0' : q.string };
    }
    case '.k8s.io.apimachinery.pkg.util.intstr.IntOrString': {
      const v = decodeFields(type, bytes);
      const kind = Number(v.type ?? 0);
      if (kind !== 0 && kind !== 1) throw new Malformed(`IntOrString type ${kind}`);
      return { value: kind === 1 ? String(v.strVal ?? '') : Number(v.intVal ?? 0) };
    }
    case '.k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1': {
      const raw = decodeFields(type, bytes).Raw as string | undefined;
      try {
        return { value: raw ? JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) : null };
      } catch {
        throw unsupported('fieldsV1 that is not JSON');
      }
    }
    case '.k8s.io.api.authentication.v1.ExtraValue':
    case '.k8s.io.api.certificates.v1.ExtraValue':
      return { value: (decodeFields(type, bytes).items as string[] | undefined) ?? [] };
    default: return undefined;
  }
}

/** A field's value: a scalar as read, a message as its JSON. */
const readValue = (r: protobuf.Reader, type: string, resolved: protobuf.Type | null): unknown =>
  (resolved ? messageJson(resolved, r.bytes()) : readScalar(r, type));

/** A map entry without its value holds the zero value. */
const ZERO: Record<string, unknown> = { string: '', bytes: '', bool: false };

/** Map keys are data (a ConfigMap key may be `__proto__`): an own property, as JSON.parse makes, never a setter. */
const setOwn = (o: Obj, key: string, value: unknown) =>
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });

function messageJson(type: protobuf.Type, bytes: Uint8Array): unknown {
  const own = ownJson(type, bytes);
  return own ? own.value : toJson(type, bytes);
}

/** The raw field values of one message: scalars as read, repeated as arrays, maps as objects, later wins. */
function decodeFields(type: protobuf.Type, bytes: Uint8Array): Obj {
  const r = protobuf.Reader.create(bytes);
  const values: Obj = {};
  const chunks = new Map<protobuf.Field, Uint8Array[]>(); // singular messages: occurrences merge, as in protobuf
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3, wire = tag & 7;
    const field = type.fieldsById[id];
    if (!field) throw unsupported(`field ${id} of ${type.fullName.slice(1)} is not one kubemu knows`);
    const resolved = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    const expected = resolved || field.map ? 2 : WIRE[field.type];
    if (field.repeated && !resolved && wire === 2 && expected !== 2) { // a packed list of numbers
      const end = r.uint32() + r.pos;
      const list = (values[field.name] ??= []) as unknown[];
      while (r.pos < end) list.push(readScalar(r, field.type));
      continue;
    }
    if (wire !== expected) throw new Malformed(`${type.name}.${field.name}: wire type ${wire}, want ${expected}`);
    if (field.map) {
      const entry = protobuf.Reader.create(r.bytes());
      const mapField = field as unknown as protobuf.MapField;
      let key: unknown = '', value: unknown;
      while (entry.pos < entry.len) {
        const t = entry.uint32();
        const want = t >>> 3 === 1 ? WIRE[mapField.keyType] : t >>> 3 === 2 ? (resolved ? 2 : WIRE[field.type]) : undefined;
        if (want === undefined) throw unsupported(`map entry field ${t >>> 3} of ${type.fullName.slice(1)}.${field.name} is not one kubemu knows`);
        if ((t & 7) !== want) throw new Malformed(`${type.name}.${field.name} entry: wire type ${t & 7}, want ${want}`);
        if (t >>> 3 === 1) key = readScalar(entry, mapField.keyType);
        else value = readValue(entry, field.type, resolved);
      }
      value ??= resolved ? messageJson(resolved, new Uint8Array()) : (ZERO[field.type] ?? 0);
      setOwn((values[field.name] ??= {}) as Obj, String(key), value);
    } else if (field.repeated) {
      ((values[field.name] ??= []) as unknown[]).push(readValue(r, field.type, resolved));
    } else if (resolved) {
      if (!chunks.has(field)) chunks.set(field, []);
      chunks.get(field)!.push(r.bytes());
    } else {
      values[field.name] = readScalar(r, field.type);
    }
  }
  for (const [field, parts] of chunks) values[field.name] = messageJson(field.resolvedType as protobuf.Type, Buffer.concat(parts));
  return values;
}

/**
 * One message as Go's encoding/json prints it, from the field options scripts/gen-proto.ts derived from the Go
 * struct tags. Kubernetes' Go encoder puts every non-pointer field on the wire, zero or not, so a zero scalar is
 * dropped when the JSON tag says omitempty — unless the field is a pointer (`replicas: 0` on a *int32 is a value):
 * both are `keepZero`. A message on the wire is a struct Go prints even when empty (`resources: {}`), unless
 * tagged omitzero. Nulls (a zero Time) are left out: to Kubernetes' JSON decoder null and absent are the same.
 */
function toJson(type: protobuf.Type, bytes: Uint8Array): Obj {
  const values = decodeFields(type, bytes);
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(values, field.name)) continue;
    const v = values[field.name];
    const opts = field.options ?? {};
    if (v === null || v === undefined) continue;
    if (!field.repeated && !field.map && !field.resolvedType && isZero(v) && !opts.keepZero) continue;
    if (opts.omitZero && typeof v === 'object' && Object.keys(v as Obj).length === 0) continue;
    if (opts.inline) Object.assign(out, v as Obj);
    else out[field.name] = v;
  }
  return out;
}

export function decodeKubernetesProtobuf(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw new ApiError('BadRequest', 'protobuf body does not start with the k8s\\0 magic');
  }
  const r = protobufRoot();
  let envelope: Obj;
  try {
    envelope = decodeFields(r.lookupType(UNKNOWN_MESSAGE), body.subarray(4));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError('BadRequest', `undecodable protobuf envelope: ${(err as Error).message}`);
  }
  const tm = (envelope.typeMeta ?? {}) as Obj;
  const apiVersion = String(tm.apiVersion ?? ''), kind = String(tm.kind ?? '');
  const message = KINDS.get(`${apiVersion}/${kind}`);
  if (!message) {
    throw unsupported(`kubemu decodes application/vnd.kubernetes.protobuf only for its built-in kinds, not ${apiVersion || '(no apiVersion)'} ${kind || '(no kind)'}`);
  }
  const type = r.lookupType(message);
  let obj: Obj;
  try {
    obj = toJson(type, Buffer.from(String(envelope.raw ?? ''), 'base64'));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError('BadRequest', `undecodable protobuf ${kind}: ${(err as Error).message}`);
  }
  // Objects always have metadata (the registry reads it); DeleteOptions has none.
  return { apiVersion, kind, ...obj, ...(type.fields.metadata ? { metadata: obj.metadata ?? {} } : {}) } as unknown as KubeObject;
}
