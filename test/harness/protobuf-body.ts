// Encodes an API JSON object as a Kubernetes protobuf body (`k8s\0` + runtime.Unknown), the way client-go does,
// from the same descriptor the apiserver decodes with: for tests that need bodies kubectl never sends.
import protobuf from 'protobufjs';
import { protobufRoot } from '../../apiserver/http/protobuf.ts';
import { PROTOBUF_KINDS, UNKNOWN_MESSAGE } from '../../apiserver/http/protobuf-kinds.ts';

type Obj = Record<string, unknown>;
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A JSON value of one field as protobufjs wants it: own-JSON types back to their messages, bytes from base64. */
function fieldValue(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (!(t instanceof protobuf.Type)) return field.type === 'bytes' ? Buffer.from(String(v), 'base64') : v;
  switch (t.name) {
    case 'Time': case 'MicroTime': {
      const ms = Date.parse(String(v));
      return { seconds: Math.floor(ms / 1000), nanos: t.name === 'MicroTime' ? Number(/\.(\d{6})/.exec(String(v))?.[1] ?? 0) * 1000 : 0 };
    }
    case 'Quantity': return { string: String(v) };
    case 'IntOrString': return typeof v === 'number' ? { type: 0, intVal: v } : { type: 1, strVal: v };
    case 'FieldsV1': return { Raw: Buffer.from(JSON.stringify(v)) };
    default: return toProtoObject(t, v as Obj);
  }
}

/** The protobufjs object of a JSON object; a JSON field the message does not have is an error, not dropped. */
export function toProtoObject(type: protobuf.Type, json: Obj): Obj {
  const used = new Set<string>();
  const out = fields(type, json, used);
  const extra = Object.keys(json).filter((k) => !used.has(k));
  if (extra.length) throw new Error(`${type.name} has no field ${extra.join(', ')}`);
  return out;
}

/** The fields of one message taken from json; an inline field's message takes its fields from the same json. */
function fields(type: protobuf.Type, json: Obj, used: Set<string>): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    if (field.options?.inline) {
      const inner = fields(field.resolvedType as protobuf.Type, json, used);
      if (Object.keys(inner).length) out[field.name] = inner;
      continue;
    }
    if (!Object.hasOwn(json, field.name)) continue;
    used.add(field.name);
    const v = json[field.name];
    if (v === null) continue;
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, fieldValue(field, x)]));
    else if (field.repeated) out[field.name] = (v as unknown[]).map((x) => fieldValue(field, x));
    else out[field.name] = fieldValue(field, v);
  }
  return out;
}

/** `k8s\0` + Unknown{typeMeta, raw: the object as its kind's message, then `extra` wire bytes if given}. */
export function protobufBody(obj: Obj, extra: Uint8Array = new Uint8Array()): Buffer {
  const { apiVersion, kind, ...rest } = obj as { apiVersion: string; kind: string } & Obj;
  const message = PROTOBUF_KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind)?.message;
  if (!message) throw new Error(`no protobuf message for ${apiVersion} ${kind}`);
  const root = protobufRoot();
  const type = root.lookupType(message);
  const raw = Buffer.concat([type.encode(toProtoObject(type, rest)).finish(), extra]);
  const unknown = root.lookupType(UNKNOWN_MESSAGE).encode({ typeMeta: { apiVersion, kind }, raw }).finish();
  return Buffer.concat([MAGIC, unknown]);
}
