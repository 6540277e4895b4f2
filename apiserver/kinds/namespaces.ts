// Namespaces (pkg/registry/core/namespace): names are DNS-1123 labels, a new one is Active with the kubernetes
// finalizer, an update keeps its status, and a delete makes it Terminating until the registry has emptied it
// (registry/namespaces.ts).
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const namespaces: Kind = {
  nameRule: 'dns1123Label',
  defaults(o) { o.spec ??= {}; o.spec.finalizers ??= ['kubernetes']; o.status ??= {}; o.status.phase ??= 'Active'; },
  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    obj.spec = { ...(obj.spec ?? {}), finalizers: ['kubernetes'] };
    // As Kubernetes' namespace strategy: every namespace is selectable by name (namespaceSelector, NetworkPolicy).
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name! };
  },
  keepsStatus: true,
  delete: (env, stored, dryRun) => env.namespaces.terminate(stored, dryRun),
  fields: (o) => ({ 'status.phase': str(o.status?.phase) }),
  printer: { columns: [{ name: 'Status' }, { name: 'Age' }], cells: (o) => [o.status?.phase ?? 'Active', age(o.metadata.creationTimestamp)] },
};
