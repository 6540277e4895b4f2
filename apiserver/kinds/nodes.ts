// Nodes (pkg/registry/core/node): taints validated, field selector spec.unschedulable, kubectl's columns.
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, nodeStatus } from './printing.ts';

type Obj = Record<string, any>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const nodes: Kind = {
  validate(o) {
    const errs: FieldError[] = [];
    if (o.spec !== undefined && !isObj(o.spec)) errs.push(fieldInvalid('spec', o.spec, 'must be an object'));
    for (const [i, t] of ((isObj(o.spec) && Array.isArray(o.spec.taints) ? o.spec.taints : []) as Obj[]).entries()) {
      if (!isObj(t) || !t.key) errs.push(fieldRequired(`spec.taints[${i}].key`));
      const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
      if (isObj(t) && !effects.includes(t.effect)) errs.push(fieldNotSupported(`spec.taints[${i}].effect`, t.effect, effects));
    }
    return errs;
  },
  fields: (o) => ({ 'spec.unschedulable': str(o.spec?.unschedulable ?? false) }),
  printer: {
    columns: [{ name: 'Status' }, { name: 'Roles' }, { name: 'Age' }, { name: 'Version' },
      { name: 'Internal-IP', priority: 1 }, { name: 'External-IP', priority: 1 }, { name: 'OS-Image', priority: 1 },
      { name: 'Kernel-Version', priority: 1 }, { name: 'Container-Runtime', priority: 1 }],
    cells(o) {
      const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).filter(Boolean);
      const addr = (t: string) => (o.status?.addresses ?? []).find((a: Obj) => a.type === t)?.address ?? '<none>';
      const info = o.status?.nodeInfo ?? {};
      return [nodeStatus(o), roles.length ? roles.sort().join(',') : '<none>', age(o.metadata.creationTimestamp), info.kubeletVersion ?? '',
        addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
};
