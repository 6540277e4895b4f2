// ConfigMaps (pkg/registry/core/configmap): keys and total size validated, immutable ones stay as they are.
import { fieldInvalid, type FieldError } from '../../api/errors.ts';
import { configMapKey } from '../../api/names.ts';
import { isObj, MAX_SECRET_SIZE } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';
import { immutableData } from './secrets.ts';

export const configmaps: Kind = {
  validate(o) {
    const errs: FieldError[] = [];
    // Kubernetes' MaxSecretSize: a ConfigMap's values (data and binaryData) may not exceed 1 MiB in all.
    let total = 0;
    for (const field of ['data', 'binaryData']) {
      if (isObj(o[field])) for (const v of Object.values(o[field])) if (typeof v === 'string') total += field === 'binaryData' ? Buffer.byteLength(v, 'base64') : Buffer.byteLength(v);
    }
    if (total > MAX_SECRET_SIZE) errs.push({ type: 'FieldValueTooLong', field: '', detail: `Too long: may not be more than ${MAX_SECRET_SIZE} bytes` });
    for (const field of ['data', 'binaryData']) {
      if (o[field] === undefined) continue;
      if (!isObj(o[field])) { errs.push(fieldInvalid(field, o[field], 'must be a map of string keys to string values')); continue; }
      for (const [k, v] of Object.entries(o[field])) {
        for (const e of configMapKey(k)) errs.push(fieldInvalid(`${field}[${k}]`, k, e));
        if (typeof v !== 'string') errs.push(fieldInvalid(`${field}[${k}]`, v, 'must be a string'));
      }
    }
    return errs;
  },
  validateUpdate: immutableData,
  printer: {
    columns: [{ name: 'Data' }, { name: 'Age' }],
    cells: (o) => [Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o.metadata.creationTimestamp)],
  },
};
