// The apiserver's query parameters as kube-apiserver's parameter codec reads them: bools as in
// lib/query-params.ts; integers as Go's strconv.ParseInt, a bad one a 400 with its error text; ListOptions
// checked as ValidateListOptions does; and `pretty`, the one parameter read with strconv.ParseBool.
import http from 'node:http';
import { ApiError, fieldNotSupported, type FieldError } from '../../api/errors.ts';
import { queryBool } from '../../lib/query-params.ts';
import type { ListOptions, ResourceVersionMatch } from '../../api/types.ts';

export { queryBool };

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** Go's %q of an ASCII-ish string is close enough to JSON's quoting for these messages. */
const goQuote = (s: string) => JSON.stringify(s);

/** An int64 parameter; undefined when absent; a 400 with strconv.ParseInt's error when it is not one. */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw new ApiError('BadRequest', `strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > INT64_MAX || n < INT64_MIN) throw new ApiError('BadRequest', `strconv.ParseInt: parsing ${goQuote(v)}: value out of range`);
  return Number(n);
}

/** Go's strconv.ParseBool; undefined for anything else. */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** `pretty=…` (strconv.ParseBool, unparsable = false), else pretty for curl, Wget and browsers, as kube-apiserver does. */
export function wantsPretty(q: URLSearchParams, req: http.IncomingMessage): boolean {
  const pp = q.get('pretty');
  if (pp) return parseGoBool(pp) ?? false;
  const ua = req.headers['user-agent'] ?? '';
  return ua.startsWith('curl') || ua.startsWith('Wget') || ua.startsWith('Mozilla/5.0');
}

const forbidden = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail: `Forbidden: ${detail}` });

/**
 * ListOptions (list or watch) as the parameter codec decodes them and ValidateListOptions checks them,
 * with the WatchList feature on (kube-apiserver 1.32's default).
 */
export function listQuery(q: URLSearchParams, isWatch: boolean): ListOptions & { timeoutSeconds?: number; allowWatchBookmarks?: boolean; sendInitialEvents?: boolean } {
  const match = (q.get('resourceVersionMatch') ?? '') as ResourceVersionMatch | '';
  const opts = {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: match || undefined,
    limit: queryInt(q, 'limit'),
    continue: q.get('continue') ?? undefined,
    timeoutSeconds: queryInt(q, 'timeoutSeconds'),
    allowWatchBookmarks: queryBool(q, 'allowWatchBookmarks') ?? false,
    sendInitialEvents: queryBool(q, 'sendInitialEvents'),
  };
  const sendInitialEvents = opts.sendInitialEvents;
  const errors: FieldError[] = [];
  if (isWatch) {
    if (sendInitialEvents !== undefined) {
      if (match !== 'NotOlderThan') errors.push(forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
    }
    if (match) {
      if (sendInitialEvents === undefined) errors.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
      if (match !== 'NotOlderThan') errors.push(fieldNotSupported('resourceVersionMatch', match, ['NotOlderThan']));
      if (opts.continue) errors.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    }
  } else {
    if (match) {
      if (!opts.resourceVersion) errors.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
      if (opts.continue) errors.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
      if (match !== 'Exact' && match !== 'NotOlderThan') errors.push(fieldNotSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
      if (match === 'Exact' && opts.resourceVersion === '0') errors.push(forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
    if (sendInitialEvents !== undefined) errors.push(forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  }
  if (errors.length) {
    const parts = errors.map((e) => `${e.field}: ${e.detail}`);
    throw new ApiError('Invalid', `ListOptions.meta.k8s.io "" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`, {
      group: 'meta.k8s.io', kind: 'ListOptions', name: '', causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
    });
  }
  return opts;
}
