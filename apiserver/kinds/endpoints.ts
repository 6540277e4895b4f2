// Endpoints (pkg/registry/core/endpoint): port protocols defaulted, kubectl's columns.
import type { Kind } from './kind.ts';
import { age, endpointsText } from './printing.ts';

export const endpoints: Kind = {
  defaults(o) {
    for (const sub of o.subsets ?? []) for (const p of sub?.ports ?? []) if (p) p.protocol ??= 'TCP';
  },
  printer: { columns: [{ name: 'Endpoints' }, { name: 'Age' }], cells: (o) => [endpointsText(o), age(o.metadata.creationTimestamp)] },
};
