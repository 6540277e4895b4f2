// Decodes `application/vnd.kubernetes.protobuf` request bodies (kubectl 1.32+ `create <kind>`) into the JSON
// object the REST path would have received. The .proto files in proto/k8s are loaded once, lazily.
import path from 'node:path';
import protobuf from 'protobufjs';
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { ROOT } from '../../lib/root.ts';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const PROTO_DIR = path.join(ROOT, 'proto/k8s');

/** apiVersion/kind → message name. Kinds not listed here are rejected with BadRequest. */
const KINDS: Record<string, string> = {
  'v1/ConfigMap': 'ConfigMap', 'v1/Secret': 'Secret', 'v1/Namespace': 'Namespace', 'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service', 'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job', 'batch/v1/CronJob': 'CronJob',
};

let root: protobuf.Root | undefined;
function loadRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => path.join(PROTO_DIR, path.basename(target));
    r.loadSync(['meta.proto', 'core.proto', 'apps.proto', 'batch.proto'], { keepCase: true });
    root = r;
  }
  return root;
}

type Obj = Record<string, unknown>;

/** Turns a decoded message into API JSON: Time → RFC 3339, bytes → base64, zero/empty values dropped (omitempty). */
function toJson(type: protobuf.Type, msg: protobuf.Message | Obj): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    // proto2 presence: decoded messages expose defaults through the prototype; only own fields were sent.
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const v = (msg as Obj)[field.name];
    if (v === undefined || v === null) continue;
    const conv = (x: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        const t = field.resolvedType;
        if (t.name === 'Time') return timeToString(x as Obj);
        if (t.name === 'Quantity') return String((x as Obj).string ?? '');
        if (t.name === 'IntOrString') {
          const io = x as Obj;
          return Number(io.type ?? 0) === 1 ? String(io.strVal ?? '') : Number(io.intVal ?? 0);
        }
        return toJson(t, x as Obj);
      }
      if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
      if (typeof x === 'object' && x !== null && 'toNumber' in x) return (x as { toNumber(): number }).toNumber();
      return x;
    };
    let j: unknown;
    if (field.map) {
      const m: Obj = {};
      for (const [k, x] of Object.entries(v as Obj)) m[k] = conv(x);
      j = m;
    } else if (field.repeated) {
      j = (v as unknown[]).map(conv);
    } else {
      j = conv(v);
    }
    // A singular nested message on the wire is a non-pointer struct in Go, which encoding/json prints as {}.
    const keepEmptyStruct = !field.map && !field.repeated && field.resolvedType instanceof protobuf.Type;
    if (!keepEmptyStruct && isEmpty(j, field.name)) continue;
    if (j === null) continue;
    out[field.name] = j;
  }
  return out;
}

/** Plain (non-pointer) integers and bools that are always on the wire but tagged omitempty in JSON. */
const ZERO_OMITTED = new Set(['generation', 'nodePort', 'healthCheckNodePort', 'publishNotReadyAddresses',
  'hostNetwork', 'hostPID', 'hostIPC', 'stdin', 'stdinOnce', 'tty', 'minReadySeconds', 'paused', 'hostPort', 'readOnly']);

function isEmpty(v: unknown, name: string): boolean {
  if (v === '' || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as Obj).length === 0;
  // generation is a plain int64 on the wire (always sent); JSON omits it when zero.
  return ZERO_OMITTED.has(name) && (v === 0 || v === false);
}

function timeToString(t: Obj): string | null {
  const s = Number(t.seconds ?? 0);
  if (!s) return null;
  return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function decodeKubernetesProtobuf(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw new ApiError('BadRequest', 'protobuf body does not start with the k8s\\0 magic');
  }
  const r = loadRoot();
  let unknown: Obj;
  try {
    unknown = r.lookupType('kubemu.k8s.Unknown').decode(body.subarray(4)) as unknown as Obj;
  } catch (err) {
    throw new ApiError('BadRequest', `undecodable protobuf envelope: ${(err as Error).message}`);
  }
  const tm = (unknown.typeMeta ?? {}) as Obj;
  const apiVersion = String(tm.apiVersion ?? ''), kind = String(tm.kind ?? '');
  const msgName = KINDS[`${apiVersion}/${kind}`];
  if (!msgName) throw new ApiError('BadRequest', `protobuf bodies for ${apiVersion} ${kind || '(no kind)'} are not supported; send JSON`);
  const type = r.lookupType(`kubemu.k8s.${msgName}`);
  let obj: Obj;
  try {
    obj = toJson(type, type.decode((unknown.raw as Uint8Array | undefined) ?? new Uint8Array()));
  } catch (err) {
    throw new ApiError('BadRequest', `undecodable protobuf ${kind}: ${(err as Error).message}`);
  }
  const meta = (obj.metadata ?? {}) as Obj;
  return { apiVersion, kind, ...obj, metadata: meta } as unknown as KubeObject;
}
