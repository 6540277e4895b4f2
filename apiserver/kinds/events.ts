// Events (pkg/registry/core/event): involvedObject required, type Normal or Warning, the field selectors kubectl
// and the kubelet use, kubectl's columns (Last Seen first).
import { fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const events: Kind = {
  validate(o) {
    const errs: FieldError[] = [];
    if (!isObj(o.involvedObject)) errs.push(fieldRequired('involvedObject'));
    if (o.type !== undefined && !['Normal', 'Warning'].includes(o.type)) errs.push(fieldNotSupported('type', o.type, ['Normal', 'Warning']));
    return errs;
  },
  fields: (o) => ({
    'involvedObject.kind': str(o.involvedObject?.kind),
    'involvedObject.namespace': str(o.involvedObject?.namespace),
    'involvedObject.name': str(o.involvedObject?.name),
    'involvedObject.uid': str(o.involvedObject?.uid),
    'involvedObject.apiVersion': str(o.involvedObject?.apiVersion),
    'involvedObject.resourceVersion': str(o.involvedObject?.resourceVersion),
    'involvedObject.fieldPath': str(o.involvedObject?.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingComponent),
    source: str(o.source?.component),
    type: str(o.type),
  }),
  printer: {
    withoutName: true,
    columns: [{ name: 'Last Seen' }, { name: 'Type' }, { name: 'Reason' }, { name: 'Object' }, { name: 'Message' },
      { name: 'Subobject', priority: 1 }, { name: 'Source', priority: 1 }, { name: 'First Seen', priority: 1 }, { name: 'Count', priority: 1 }, { name: 'Name', priority: 1 }],
    cells(o) {
      const io = o.involvedObject ?? {};
      const last = o.series?.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const first = o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const source = [o.source?.component ?? o.reportingComponent, o.source?.host ?? o.reportingInstance].filter(Boolean).join(', ');
      return [age(last), o.type ?? '', o.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, String(o.message ?? '').trim(),
        io.fieldPath ?? '', source, age(first), o.count ?? 1, o.metadata.name];
    },
  },
};
