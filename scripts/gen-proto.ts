// Generates proto/k8s/descriptor.json: the protobufjs JSON descriptor of every message reachable from the body kinds
// kubemu decodes (apiserver/http/protobuf-kinds.ts), from Kubernetes' published generated.proto files (field numbers,
// names, types) and the Go struct tags in the same packages (JSON names, inlining, omitempty/omitzero, pointers).
//
// The sources stay outside the project, laid out by Go import path under <src>. The committed descriptor was made
// from tag v0.36.3 of both repositories:
//   git -C <kubernetes/api clone> archive --prefix=k8s.io/api/ v0.36.3 core/v1 apps/v1 batch/v1 coordination/v1 \
//     policy/v1 autoscaling/v1 authentication/v1 storage/v1 certificates/v1 | tar x -C <src>
//   git -C <kubernetes/apimachinery clone> archive --prefix=k8s.io/apimachinery/ v0.36.3 pkg/apis/meta/v1 \
//     pkg/runtime pkg/util/intstr pkg/api/resource | tar x -C <src>
//   npx tsx scripts/gen-proto.ts <src> [out.json]
// A kind added to api/resources.ts needs its package here and a rerun; protobuf.test.ts fails until then.
//
// Fields are named by their JSON name. Field options the decoder reads:
//   inline    the Go field is embedded without a JSON name: its fields appear in the parent object
//   keepZero  a scalar whose zero value is printed: a Go pointer (*int32: 0 is a value) or a field without omitempty
//   omitZero  a message field tagged omitzero: dropped when zero
import fs from 'node:fs';
import path from 'node:path';
import { OWN_JSON_MESSAGES, PROTOBUF_KINDS, UNKNOWN_MESSAGE } from '../apiserver/http/protobuf-kinds.ts';
import { ROOT } from '../lib/root.ts';

interface ProtoField { name: string; id: number; rule: 'optional' | 'repeated' | 'map'; type: string; keyType?: string }
interface ProtoMessage { pkg: string; name: string; fields: ProtoField[]; dir: string }
/** protoName is '' where the tag leaves it out (embedded structs). */
interface GoField { name: string; goType: string; json: string; omitempty: boolean; omitzero: boolean; protoName: string }

/** Messages the decoder converts whole (their own Go MarshalJSON, or the envelope): no struct tags are read. */
const SPECIAL = new Set([...OWN_JSON_MESSAGES, UNKNOWN_MESSAGE, 'k8s.io.apimachinery.pkg.runtime.TypeMeta']);
const SCALARS = new Set(['string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'double', 'float']);

const src = process.argv[2];
const out = process.argv[3] ?? path.join(ROOT, 'proto/k8s/descriptor.json');
if (!src) { console.error('usage: tsx scripts/gen-proto.ts <dir with k8s.io/api and k8s.io/apimachinery> [out.json]'); process.exit(2); }

const messages = new Map<string, ProtoMessage>();
const loaded = new Set<string>();

/** Loads the generated.proto of a package when one of its messages is first needed (its path is the package's). */
function loadProto(importPath: string): void {
  if (loaded.has(importPath)) return;
  loaded.add(importPath);
  const text = fs.readFileSync(path.join(src, importPath), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const pkg = /^package\s+([\w.]+);/m.exec(text)?.[1];
  if (!pkg) throw new Error(`${importPath}: no package`);
  for (const m of text.matchAll(/^message\s+(\w+)\s*\{([^}]*)\}/gm)) {
    const fields: ProtoField[] = [];
    for (const line of m[2].split(';').map((l) => l.trim()).filter(Boolean)) {
      const f = /^(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)$/.exec(line);
      const mp = /^map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)$/.exec(line);
      if (f) fields.push({ rule: f[1] as 'optional' | 'repeated', type: f[2], name: f[3], id: Number(f[4]) });
      else if (mp) fields.push({ rule: 'map', keyType: mp[1], type: mp[2], name: mp[3], id: Number(mp[4]) });
      else throw new Error(`${importPath} ${m[1]}: cannot read "${line}"`);
    }
    messages.set(`${pkg}.${m[1]}`, { pkg, name: m[1], fields, dir: path.dirname(importPath) });
  }
}

/** A field's message type, fully qualified: generated.proto names its own package's types unqualified, others `.k8s.io…`. */
const qualify = (pkg: string, type: string): string => (type.startsWith('.') ? type.slice(1) : type.includes('.') ? type : `${pkg}.${type}`);

const ownJson = new Set<string>(); // dir/struct of Go types with a MarshalJSON method
const goStructs = new Map<string, Map<string, Map<number, GoField>>>(); // dir → struct → protobuf number → field
function goFields(dir: string, struct: string): Map<number, GoField> {
  if (!goStructs.has(dir)) {
    const structs = new Map<string, Map<number, GoField>>();
    for (const file of fs.readdirSync(path.join(src, dir)).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))) {
      const text = fs.readFileSync(path.join(src, dir, file), 'utf8');
      for (const m of text.matchAll(/^type\s+(\w+)\s+struct\s*\{\n([\s\S]*?)^\}/gm)) {
        const fields = new Map<number, GoField>();
        for (const raw of m[2].split('\n')) {
          const line = raw.trim();
          const tags = /`([^`]*)`/.exec(line)?.[1];
          const pb = tags && /protobuf:"\w+,(\d+)(?:,\w+)*(?:,name=(\w+))?/.exec(tags);
          if (line.startsWith('//') || !pb) continue;
          const decl = line.slice(0, line.indexOf('`')).trim().split(/\s+/);
          const json = (/json:"([^"]*)"/.exec(tags)?.[1] ?? '').split(',');
          fields.set(Number(pb[1]), {
            name: decl.length === 1 ? '' : decl[0], goType: decl.length === 1 ? decl[0] : decl[1], json: json[0],
            omitempty: json.includes('omitempty'), omitzero: json.includes('omitzero'), protoName: pb[2] ?? '',
          });
        }
        structs.set(m[1], fields);
      }
      for (const m of text.matchAll(/^func \(\w+ \*?(\w+)\) MarshalJSON\(/gm)) ownJson.add(`${dir}/${m[1]}`);
    }
    goStructs.set(dir, structs);
  }
  const fields = goStructs.get(dir)!.get(struct);
  if (!fields) throw new Error(`no Go struct ${struct} in ${dir}`);
  // Its JSON is not its fields': the decoder would need to know it (OWN_JSON_MESSAGES).
  if (ownJson.has(`${dir}/${struct}`)) throw new Error(`${dir} ${struct} has its own MarshalJSON`);
  return fields;
}

const reachable = new Set<string>();
const visit = (name: string): void => {
  if (reachable.has(name)) return;
  loadProto(`${name.split('.').slice(0, -1).join('/').replace(/^k8s\/io\//, 'k8s.io/')}/generated.proto`);
  const msg = messages.get(name);
  if (!msg) throw new Error(`message ${name} not found`);
  reachable.add(name);
  for (const f of msg.fields) if (!SCALARS.has(f.type)) visit(qualify(msg.pkg, f.type));
};
for (const k of PROTOBUF_KINDS) visit(k.message);
visit(UNKNOWN_MESSAGE);

type Json = Record<string, unknown>;
const root: Json = {};
const renamed: string[] = [];
for (const name of [...reachable].sort()) {
  const msg = messages.get(name)!;
  const go = SPECIAL.has(name) ? undefined : goFields(msg.dir, msg.name);
  const fields: Json = {};
  for (const f of msg.fields) {
    const type = SCALARS.has(f.type) ? f.type : `.${qualify(msg.pkg, f.type)}`;
    const d: Json = { type, id: f.id };
    if (f.rule === 'repeated') d.rule = 'repeated';
    if (f.rule === 'map') d.keyType = f.keyType;
    let jsonName = f.name;
    if (go) {
      const g = go.get(f.id);
      if (!g || (g.protoName && g.protoName !== f.name)) throw new Error(`${name}.${f.name} = ${f.id}: no matching Go field`);
      if (g.json === '-') throw new Error(`${name}.${f.name}: on the wire but not in JSON`);
      const options: Json = {};
      if (g.json === '') options.inline = true;
      else jsonName = g.json;
      if (f.rule === 'optional' && SCALARS.has(f.type) && (g.goType.startsWith('*') || !g.omitempty)) options.keepZero = true;
      if (g.omitzero) options.omitZero = true;
      if (Object.keys(options).length) d.options = options;
      if (jsonName !== f.name) renamed.push(`${name}.${f.name} → ${jsonName}`);
    }
    fields[jsonName] = d;
  }
  let ns = root;
  for (const part of msg.pkg.split('.')) {
    const nested = (ns.nested ??= {}) as Json;
    ns = (nested[part] ??= {}) as Json;
  }
  ((ns.nested ??= {}) as Json)[msg.name] = { fields };
}

/** One message a line, so a regenerated descriptor diffs by message. */
function format(node: Json, indent: string): string {
  if ('fields' in node) return JSON.stringify(node);
  const nested = node.nested as Json;
  const inner = Object.entries(nested).map(([k, v]) => `${indent}  ${JSON.stringify(k)}: ${format(v as Json, `${indent}  `)}`);
  return `{ "nested": {\n${inner.join(',\n')}\n${indent}} }`;
}
fs.writeFileSync(out, `${format(root, '')}\n`);
console.log(`${reachable.size} messages → ${path.relative(process.cwd(), out)}`);
for (const r of renamed) console.log(`  JSON name differs: ${r}`);
