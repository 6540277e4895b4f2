// The kinds a CustomResourceDefinition serves, as entries of the resource table: the apiserver serves them, and
// other processes (the garbage collector) learn them from the CRDs they watch, so clients there can reach them.
import type { CustomKind, ResourceInfo } from './resources.ts';
import type { KubeObject } from './types.ts';

type Obj = Record<string, any>;

/** The ResourceInfo of each served version (kind, names, scope, subresources, schema, columns). */
export function kindsOf(crd: KubeObject): ResourceInfo[] {
  const spec = crd.spec;
  const names = spec.names;
  const storage = spec.versions.find((v: Obj) => v.storage).name as string;
  return (spec.versions as Obj[]).filter((v) => v.served).map((v): ResourceInfo => {
    const sub = v.subresources ?? {};
    const custom: CustomKind = {
      crd: crd.metadata.name!, storageVersion: storage, schema: v.schema.openAPIV3Schema,
      printerColumns: v.additionalPrinterColumns ?? [],
      scale: sub.scale ? { specReplicasPath: sub.scale.specReplicasPath, statusReplicasPath: sub.scale.statusReplicasPath, labelSelectorPath: sub.scale.labelSelectorPath } : undefined,
      deprecationWarning: v.deprecated ? (v.deprecationWarning ?? `${spec.group}/${v.name} ${names.kind} is deprecated`) : undefined,
      selectableFields: (v.selectableFields ?? []).map((f: Obj) => String(f.jsonPath).replace(/^\./, '')),
    };
    return {
      group: spec.group, version: v.name, kind: names.kind, resource: names.plural, singular: names.singular ?? String(names.kind).toLowerCase(),
      namespaced: spec.scope === 'Namespaced', shortNames: names.shortNames ?? [], categories: names.categories ?? [],
      subresources: [...(sub.status ? ['status'] : []), ...(sub.scale ? ['scale'] : [])], custom,
    };
  });
}
