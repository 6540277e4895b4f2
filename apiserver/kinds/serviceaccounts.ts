// ServiceAccounts (pkg/registry/core/serviceaccount): kubectl's columns.
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

export const serviceaccounts: Kind = {
  printer: { columns: [{ name: 'Secrets' }, { name: 'Age' }], cells: (o) => [(o.secrets ?? []).length, age(o.metadata.creationTimestamp)] },
};
