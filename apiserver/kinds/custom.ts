// The kinds CustomResourceDefinitions serve (apiextensions-apiserver's customresource strategy), one Kind per
// served version built from its ResourceInfo: pruning and the schema's defaults, the schema and its CEL rules,
// status and scale at the CRD's paths, its selectable fields and printer columns. No code per CRD.
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { columnCell, customScale, customValidation, pruneAndDefault, setPath } from '../crd/objects.ts';
import type { Cell, Kind, Printer } from './kind.ts';
import { age } from './printing.ts';

/** Its CRD's additionalPrinterColumns (a date column shows an age, as Kubernetes' CRD table convertor does). */
function printer(info: ResourceInfo): Printer | undefined {
  const cols = info.custom!.printerColumns;
  if (!cols.length) return undefined;
  return {
    columns: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    cells: (o) => cols.map((c) => {
      const v = columnCell(o as KubeObject, c) as Cell;
      return c.type === 'date' && typeof v === 'string' ? (Number.isNaN(Date.parse(v)) ? '<invalid>' : age(v)) : v;
    }),
  };
}

export function customKind(info: ResourceInfo): Kind {
  const c = info.custom!;
  const hasStatus = info.subresources.includes('status');
  const admit = (obj: KubeObject, old?: KubeObject) => { pruneAndDefault(info, obj); return customValidation(info, obj, old); };
  return {
    // A custom kind with a status subresource starts without status, as its clients must set it there.
    prepareForCreate(obj) { if (hasStatus) delete obj.status; },
    defaults: (obj) => pruneAndDefault(info, obj as KubeObject),
    validate: (obj) => customValidation(info, obj as KubeObject),
    validateUpdate: (obj, old) => customValidation(info, obj, old, true), // the transition rules: validate did the rest
    validateStatus: (obj, old) => admit(obj, old),
    tracksGeneration: true,
    fields(obj) {
      const out: Record<string, string> = {};
      for (const f of c.selectableFields) {
        const v = f.split('.').reduce((a: any, k) => (a && typeof a === 'object' ? a[k] : undefined), obj);
        out[f] = v === undefined || v === null ? '' : String(v);
      }
      return out;
    },
    printer: printer(info),
    scale: c.scale ? { read: (obj) => customScale(info, obj), write: (obj, replicas) => setPath(obj, c.scale!.specReplicasPath, replicas) } : undefined,
  };
}
