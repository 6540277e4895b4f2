// OpenAPI for kubectl: an empty v2 body (enough for --validate on 1.27/1.28), and a v3 index whose
// per-group-version documents list each kind's PATCH operation with the fieldValidation parameter
// — what kubectl looks for before it sends fieldValidation=Strict — and the kinds' component schemas,
// which `kubectl explain` walks.
import { createHash } from 'node:crypto';
import { apiVersionOf, customKindsGeneration } from '../../api/resources.ts';
import { componentSchemas } from '../../api/schema/openapi.ts';
import { groups } from './discovery.ts';

type Obj = Record<string, any>;

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

function document(group: string, version: string): Obj {
  const g = groups().find((x) => x.group === group && x.version === version);
  const paths: Obj = {};
  for (const r of g?.resources ?? []) {
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}/{name}`;
    const op = (method: string) => ({
      [method]: {
        'x-kubernetes-group-version-kind': { group, version, kind: r.kind },
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        responses: {},
      },
    });
    paths[base] = { ...op('patch'), ...op('put') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: componentSchemas(group, version) } };
}

const cache = new Map<string, { body: string; hash: string }>();
let cachedGeneration = 0;

function cached(group: string, version: string): { body: string; hash: string } {
  // a CRD's change changes its group's document (and its hash, so kubectl refetches it)
  if (cachedGeneration !== customKindsGeneration) { cache.clear(); cachedGeneration = customKindsGeneration; }
  const key = apiVersionOf({ group, version });
  let entry = cache.get(key);
  if (!entry) {
    const body = JSON.stringify(document(group, version));
    entry = { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() };
    cache.set(key, entry);
  }
  return entry;
}

export function openapiV3Index(): Obj {
  const paths: Obj = {};
  for (const g of groups()) {
    const p = gvPath(g.group, g.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${cached(g.group, g.version).hash}` };
  }
  return { paths };
}

/** `/openapi/v3/api/v1` or `/openapi/v3/apis/apps/v1` → the document, or undefined. */
export function openapiV3Document(path: string): string | undefined {
  const m = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const [group, version] = m[1] ? ['', m[1]] : [m[2], m[3]];
  if (!groups().some((g) => g.group === group && g.version === version)) return undefined;
  return cached(group, version).body;
}
