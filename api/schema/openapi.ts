// OpenAPI v3 component schemas built from schemas.json, named and shaped as kube-apiserver publishes
// them (io.k8s.api.apps.v1.DeploymentSpec, references through allOf, Quantity/IntOrString/Time as their
// own components, x-kubernetes-group-version-kind on each kind) so `kubectl explain` can walk them.
// Descriptions and required fields come from client-node's model comments (descriptions.json); a
// field that refers to another type has none there, as in those models.
import { RESOURCES, apiVersionOf } from '../resources.ts';
import { goStruct, schemas } from './check.ts';
import descriptionsJson from './descriptions.json' with { type: 'json' };

type Doc = { description?: string; required?: string[]; fields?: Record<string, string> };
const descriptions = descriptionsJson as Record<string, Doc>;

type Obj = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
/** Types that live in apimachinery's meta/v1 rather than in an API group's package. */
const META_TYPES = new Set(['ObjectMeta', 'ListMeta', 'OwnerReference', 'ManagedFieldsEntry', 'LabelSelector', 'LabelSelectorRequirement', 'Condition', 'Status', 'StatusDetails', 'StatusCause']);

const SPECIAL: Record<string, [string, Obj]> = {
  'quantity': ['io.k8s.apimachinery.pkg.api.resource.Quantity', { oneOf: [{ type: 'string' }, { type: 'number' }] }],
  'int-or-string': ['io.k8s.apimachinery.pkg.util.intstr.IntOrString', { 'x-kubernetes-int-or-string': true }],
  'date-time': [`${META}.Time`, { type: 'string', format: 'date-time' }],
  'date-time-micro': [`${META}.MicroTime`, { type: 'string', format: 'date-time' }],
  'object': [`${META}.FieldsV1`, { type: 'object' }],
};

const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });

/** Component name of each schema type: the package of the first served kind that reaches it (core first). */
let names: Map<string, string> | undefined;
function componentNames(): Map<string, string> {
  if (names) return names;
  names = new Map();
  const { kinds, types } = schemas();
  for (const r of RESOURCES) {
    const pkg = r.group ? r.group.split('.')[0] : 'core';
    const visit = (t: string) => {
      if (names!.has(t) || !types[t]) return;
      const go = goStruct(t).name;
      names!.set(t, META_TYPES.has(go) ? `${META}.${go}` : `io.k8s.api.${pkg}.${r.version}.${go}`);
      for (const ft of Object.values(types[t])) visit(ft.replace(/^(\[\]|map\[)+/, '').replace(/\]+$/, ''));
    };
    visit(kinds[`${apiVersionOf(r)}/${r.kind}`]);
  }
  return names;
}

/** The schema of one field type, adding the components it refers to into `out`. */
function fieldSchema(t: string, out: Obj): Obj {
  if (t.startsWith('[]')) return { type: 'array', items: fieldSchema(t.slice(2), out) };
  if (t.startsWith('map[')) return { type: 'object', additionalProperties: fieldSchema(t.slice(4, -1), out) };
  switch (t) {
    case 'string': return { type: 'string' };
    case 'byte': return { type: 'string', format: 'byte' };
    case 'boolean': return { type: 'boolean' };
    case 'int32': case 'int64': return { type: 'integer', format: t };
    case 'double': return { type: 'number', format: 'double' };
  }
  const special = SPECIAL[t];
  if (special) {
    out[special[0]] ??= special[1];
    return { allOf: [ref(special[0])] };
  }
  addComponent(t, out);
  return { allOf: [ref(componentNames().get(t)!)], default: {} };
}

function addComponent(t: string, out: Obj): void {
  const name = componentNames().get(t)!;
  if (out[name]) return;
  const doc = descriptions[t] ?? {};
  const properties: Obj = {};
  const schema: Obj = { ...(doc.description ? { description: doc.description } : {}), type: 'object', properties, ...(doc.required ? { required: doc.required } : {}) };
  out[name] = schema;
  for (const [field, ft] of Object.entries(schemas().types[t])) {
    const description = doc.fields?.[field];
    properties[field] = { ...(description ? { description } : {}), ...fieldSchema(ft, out) };
  }
}

/**
 * A custom kind's component: its CRD's schema, named as kube-apiserver names it (the group reversed:
 * io.kubemu.demo.v1.WebApp), with apiVersion, kind and a reference to ObjectMeta added.
 */
function addCustomComponent(group: string, version: string, kind: string, schema: Record<string, any>, out: Obj): void {
  const { kinds, types } = schemas();
  const metaType = types[kinds['v1/Pod']!]!.metadata!;
  const properties = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { ...fieldSchema(metaType, out), description: "Standard object's metadata." },
    ...(schema.properties ?? {}),
  };
  out[`${group.split('.').reverse().join('.')}.${version}.${kind}`] = { ...schema, type: 'object', properties, 'x-kubernetes-group-version-kind': [{ group, kind, version }] };
}

/** components.schemas for one group/version: its kinds (tagged with their GVK) and all they reach. */
export function componentSchemas(group: string, version: string): Obj {
  const out: Obj = {};
  const { kinds } = schemas();
  for (const r of RESOURCES) {
    if (r.group !== group || r.version !== version) continue;
    if (r.custom) { addCustomComponent(r.group, r.version, r.kind, r.custom.schema, out); continue; }
    const t = kinds[`${apiVersionOf(r)}/${r.kind}`];
    if (!t) continue;
    addComponent(t, out);
    (out[componentNames().get(t)!] as Obj)['x-kubernetes-group-version-kind'] = [{ group, kind: r.kind, version }];
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}
