// How objects sit in etcd: plain JSON without metadata.resourceVersion (the revision is
// etcd's, never the object's own claim), and how a stored key-value becomes an object again.
import type { KubeObject } from '../../api/types.ts';
import { ApiError, internalError } from '../../api/errors.ts';

/** What happens to a value between the object's JSON and etcd (encryption at rest, see encryption.ts). */
export interface ValueTransformer {
  toStorage(key: string, data: Buffer): Buffer;
  fromStorage(key: string, data: Buffer): Buffer;
}

export const identityTransformer: ValueTransformer = { toStorage: (_key, data) => data, fromStorage: (_key, data) => data };

export function encode(obj: KubeObject, key = '', transformer: ValueTransformer = identityTransformer): Buffer {
  const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  return transformer.toStorage(key, Buffer.from(JSON.stringify({ ...obj, metadata })));
}

/** Parse a stored value and stamp it with the given revision as its resourceVersion. */
export function decode(key: string, value: Buffer | string, revision: string | number, transformer: ValueTransformer = identityTransformer): KubeObject {
  let obj: KubeObject;
  let plain: Buffer;
  try {
    plain = transformer.fromStorage(key, typeof value === 'string' ? Buffer.from(value) : value);
  } catch (err) {
    // As kube-apiserver: the object cannot be read, the request fails, nothing else does.
    throw internalError(`unable to transform key "${key}": ${(err as Error).message}`);
  }
  try {
    obj = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new ApiError('InternalError', `stored object at ${key} is not valid JSON`);
  }
  obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(revision) };
  return obj;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

export const isCompactedError = (err: unknown): boolean =>
  /compacted/i.test(String((err as Error)?.message ?? err));
