// List paging: continue tokens are opaque to clients — the revision of the first page and the key to go on from.
import { ApiError } from '../../api/errors.ts';

export function encodeContinue(rv: number, key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv, start: key })).toString('base64url');
}
export function decodeContinue(token: string, prefix: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t.v === 1 && Number.isInteger(t.rv) && typeof t.start === 'string' && t.start.startsWith(prefix)) return t;
  } catch { /* fall through */ }
  throw new ApiError('BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
