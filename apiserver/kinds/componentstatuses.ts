// ComponentStatuses (read-only, apiserver/http/component-statuses.ts computes them): kubectl's columns.
import type { Kind } from './kind.ts';

type Obj = Record<string, any>;

export const componentstatuses: Kind = {
  printer: {
    columns: [{ name: 'Status' }, { name: 'Message' }, { name: 'Error' }],
    cells(o) {
      const c = (o.conditions ?? []).find((x: Obj) => x.type === 'Healthy') ?? {};
      return [c.status === 'True' ? 'Healthy' : 'Unhealthy', c.message ?? '', c.error ?? ''];
    },
  },
};
