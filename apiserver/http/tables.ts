// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for on `kubectl get`, with the
// columns and cell formats of kube-apiserver's printers (pkg/printers/internalversion).
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { kindFor } from '../kinds/index.ts';
import type { Cell, Printer } from '../kinds/kind.ts';
import { age } from '../kinds/printing.ts';

type Obj = Record<string, any>;

const DEFAULT_PRINTER: Printer = { columns: [{ name: 'Age' }], cells: (o) => [age(o.metadata.creationTimestamp)] };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const printerOf = (info: ResourceInfo): Printer => kindFor(info).printer ?? DEFAULT_PRINTER;

function columnDefinitions(info: ResourceInfo): Obj[] {
  const printer = printerOf(info);
  // Name leads (format "name" gives kubectl its kind/name prefix), except where the printer says (Events: Last Seen).
  const name = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
  const cols = printer.columns.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }));
  return printer.withoutName ? cols : [name, ...cols];
}

function row(info: ResourceInfo, obj: KubeObject, include: IncludeObject): Obj {
  const printer = printerOf(info);
  let cells: Cell[];
  try {
    cells = printer.cells(obj as Obj);
  } catch {
    cells = printer.columns.map(() => '<unknown>'); // never fail a whole listing on one odd object
  }
  if (!printer.withoutName) cells = [obj.metadata.name ?? '', ...cells];
  const r: Obj = { cells };
  if (include === 'Object') r.object = obj;
  else if (include === 'Metadata') r.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return r;
}

export function toTable(info: ResourceInfo, items: KubeObject[], meta: { resourceVersion?: string; continue?: string }, include: IncludeObject = 'Metadata', withColumns = true): Obj {
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(info) : [],
    rows: items.map((o) => row(info, o, include)),
  };
}
