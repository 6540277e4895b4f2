// Writes api/schema/schemas.json: the fields and field types of every kind in api/resources.ts and of
// every type they reach, read from @kubernetes/client-node's generated models (a devDependency: the
// apiserver loads only the JSON), and api/schema/descriptions.json: their descriptions and required
// fields from the models' .d.ts comments, for `kubectl explain`. Run: node --import tsx scripts/gen-schemas.ts
//
// Field types, compactly: string | boolean | int32 | int64 | double | date-time | date-time-micro |
// byte (base64) | quantity | int-or-string | object (free-form) | []T | map[T] | a type name.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as models from '@kubernetes/client-node';
import { RESOURCES, apiVersionOf } from '../api/resources.ts';

type Attr = { name: string; baseName: string; type: string; format: string };
const byName = models as unknown as Record<string, { attributeTypeMap?: Attr[] } | undefined>;
const here = dirname(fileURLToPath(import.meta.url));
const modelsDir = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json')), 'dist', 'gen', 'models');

// client-node types every Quantity as a plain string; Kubernetes' generated.proto (k8s.io/api v0.32:
// core/v1, apps/v1, batch/v1, coordination/v1) names these fields as resource.Quantity.
const QUANTITY_FIELDS = new Set([
  'V1ContainerStatus.allocatedResources', 'V1EmptyDirVolumeSource.sizeLimit', 'V1LimitRangeItem.max',
  'V1LimitRangeItem.min', 'V1LimitRangeItem._default', 'V1LimitRangeItem.defaultRequest',
  'V1LimitRangeItem.maxLimitRequestRatio', 'V1NodeStatus.capacity', 'V1NodeStatus.allocatable',
  'V1PersistentVolumeClaimStatus.capacity', 'V1PersistentVolumeClaimStatus.allocatedResources',
  'V1PersistentVolumeSpec.capacity', 'V1PodSpec.overhead', 'V1ResourceFieldSelector.divisor',
  'V1ResourceQuotaSpec.hard', 'V1ResourceQuotaStatus.hard', 'V1ResourceQuotaStatus.used',
  'V1ResourceRequirements.limits', 'V1ResourceRequirements.requests',
  'V1VolumeResourceRequirements.limits', 'V1VolumeResourceRequirements.requests',
]);

function modelFor(group: string, kind: string): string {
  const prefix = group ? group.split('.')[0].replace(/^./, (c) => c.toUpperCase()) : 'Core';
  for (const n of [`${prefix}V1${kind}`, `V1${kind}`]) if (byName[n]?.attributeTypeMap) return n;
  throw new Error(`no client-node model for ${group || 'core'}/${kind}`);
}

const types: Record<string, Record<string, string>> = {};

function fieldType(owner: string, a: Attr): string {
  const quantity = QUANTITY_FIELDS.has(`${owner}.${a.name}`);
  const scalar = (t: string, format: string): string => {
    if (quantity) return 'quantity';
    switch (t) {
      case 'string': return format === 'byte' ? 'byte' : 'string';
      case 'boolean': return 'boolean';
      case 'number': return format === 'int32' || format === 'int64' ? format : 'double';
      case 'Date': case 'V1MicroTime': return format === 'date-time-micro' ? 'date-time-micro' : 'date-time';
      case 'IntOrString': return 'int-or-string';
      case 'any': return 'object';
      default: visit(t); return t;
    }
  };
  const parse = (t: string): string => {
    let m = /^Array<(.+)>$/.exec(t);
    if (m) return `[]${parse(m[1])}`;
    m = /^\{ \[key: string\]: (.+); \}$/.exec(t);
    if (m) return `map[${parse(m[1])}]`;
    return scalar(t, a.format);
  };
  return parse(a.type);
}

function visit(name: string): void {
  if (types[name]) return;
  const attrs = byName[name]?.attributeTypeMap;
  if (!attrs) throw new Error(`no client-node model ${name}`);
  const fields: Record<string, string> = {};
  types[name] = fields;
  for (const a of attrs) fields[a.baseName] = fieldType(name, a);
}

/** A model's description, its fields' descriptions and its required fields, from the .d.ts beside it. */
function describe(name: string): { description?: string; required?: string[]; fields?: Record<string, string> } {
  const baseName = new Map((byName[name]?.attributeTypeMap ?? []).map((a) => [a.name, a.baseName]));
  const dts = readFileSync(join(modelsDir, `${name}.d.ts`), 'utf8');
  const out: { description?: string; required?: string[]; fields?: Record<string, string> } = {};
  let comment: string | undefined;
  let inComment = false;
  let lines: string[] = [];
  for (const line of dts.split('\n')) {
    const t = line.trim();
    if (t.startsWith('/**')) { inComment = true; lines = []; continue; }
    if (inComment) {
      if (t.startsWith('*/')) { inComment = false; comment = lines.join('\n').trim(); } else lines.push(t.replace(/^\* ?/, ''));
      continue;
    }
    if (t.startsWith('export declare class')) { if (comment) out.description = comment; comment = undefined; continue; }
    const m = /^'([^']+)'(\?)?:/.exec(t);
    if (m) {
      const field = baseName.get(m[1]) ?? m[1];
      if (comment) (out.fields ??= {})[field] = comment;
      if (!m[2]) (out.required ??= []).push(field);
    }
    if (t) comment = undefined;
  }
  return out;
}

/** The two files' text, as generated from the installed client-node. */
export function generate(): { schemas: string; descriptions: string } {
  const kinds: Record<string, string> = {};
  for (const r of RESOURCES) {
    const model = modelFor(r.group, r.kind);
    kinds[`${apiVersionOf(r)}/${r.kind}`] = model;
    visit(model);
  }
  const sorted = Object.keys(types).sort();
  const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json'), 'utf8'));
  // One type a line: small diffs when client-node changes.
  return {
    schemas: `{"source":${JSON.stringify(`@kubernetes/client-node ${pkg.version}`)},\n"kinds":${JSON.stringify(kinds)},\n"types":{\n` +
      sorted.map((k) => `${JSON.stringify(k)}:${JSON.stringify(types[k])}`).join(',\n') + '\n}}\n',
    descriptions: '{\n' + sorted.map((k) => `${JSON.stringify(k)}:${JSON.stringify(describe(k))}`).join(',\n') + '\n}\n',
  };
}

export const SCHEMA_FILES = { schemas: join(here, '..', 'api', 'schema', 'schemas.json'), descriptions: join(here, '..', 'api', 'schema', 'descriptions.json') };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = generate();
  writeFileSync(SCHEMA_FILES.schemas, out.schemas);
  writeFileSync(SCHEMA_FILES.descriptions, out.descriptions);
  console.log(`wrote ${SCHEMA_FILES.schemas} and ${SCHEMA_FILES.descriptions}`);
}
