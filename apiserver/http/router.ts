// Resource paths of the Kubernetes REST API → which resource, namespace, name and
// subresource a request is about:
//   /api/v1[/watch]/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
//   /apis/<group>/<version>[/watch]/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
import { ApiError } from '../../api/errors.ts';
import { RESOURCES, type ResourceInfo } from '../../api/resources.ts';

export interface ResourceRoute {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The legacy /watch/ path prefix. */
  legacyWatch: boolean;
}

const notFound = () => new ApiError('NotFound', 'the server could not find the requested resource');

/** undefined = not a resource path (discovery, health, …). Throws 404 for unknown resources. */
export function routeResource(path: string): ResourceRoute | undefined {
  const segs = path.split('/').filter(Boolean).map((s) => {
    try { return decodeURIComponent(s); } catch { throw new ApiError('BadRequest', `invalid URL escape ${JSON.stringify(s.slice(s.indexOf('%'), s.indexOf('%') + 3))}`); }
  });
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) { group = ''; version = segs[1]; rest = segs.slice(2); }
  else if (segs[0] === 'apis' && segs.length >= 4) { group = segs[1]; version = segs[2]; rest = segs.slice(3); }
  else return undefined;
  if (!RESOURCES.some((r) => r.group === group && r.version === version)) throw notFound();
  let legacyWatch = false;
  if (rest[0] === 'watch') { legacyWatch = true; rest = rest.slice(1); }
  const find = (resource: string) => RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);

  // namespaces/<ns>/<resource>…, except the namespace object itself and its subresources.
  const namespaceSub = group === '' && rest.length === 3 && ['status', 'finalize'].includes(rest[2]);
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSub) {
    const info = find(rest[2]);
    // ".../<name>/proxy/<any path>": the proxy subresource takes the rest of the path.
    if (!info || !info.namespaced || (rest.length > 5 && rest[4] !== 'proxy')) throw notFound();
    return { info, namespace: rest[1], name: rest[3], subresource: rest[4], legacyWatch };
  }
  if (rest.length === 0 || rest.length > 3) throw notFound();
  const info = find(rest[0]);
  if (!info) throw notFound();
  // A namespaced resource without a namespace: only the cross-namespace collection (list/watch).
  if (info.namespaced && rest.length > 1) throw notFound();
  return { info, name: rest[1], subresource: rest[2], legacyWatch };
}
