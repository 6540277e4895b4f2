// How objects sit in etcd: plain JSON without metadata.resourceVersion (the revision is
// etcd's, never the object's own claim), and how a stored key-value becomes an object again.
import type { KubeObject } from '../../api/types.ts';
import { ApiError } from '../../api/errors.ts';

export function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  return JSON.stringify({ ...obj, metadata });
}

/** Parse a stored value and stamp it with the given revision as its resourceVersion. */
export function decode(key: string, value: Buffer | string, revision: string | number): KubeObject {
  let obj: KubeObject;
  try {
    obj = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
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
