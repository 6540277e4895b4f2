// The Kubernetes REST API over the registry, enough that the real kubectl (1.27–1.33) and the
// official clients work unchanged (see ../shared/kubectl-wire.md for what they send and need).
// Every request: authenticate → route → registry (which authorizes, admits and stores).
import type { EtcdClientTls } from '../storage/etcd-store.ts';
import http from 'node:http';
import https from 'node:https';
import { ApiError, errorToStatus, toApiError } from '../../api/errors.ts';
import { findResource } from '../../api/resources.ts';
import type { DeleteOptions, KubeObject, WatchOptions } from '../../api/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { METRICS_CONTENT_TYPE } from '../../lib/metrics.ts';
import { bearerToken, type Authenticator } from '../auth/authenticator.ts';
import { certificateUser } from '../auth/x509.ts';
import type { Registry, RequestContext, ResourceRef } from '../registry/types.ts';
import { DEFAULT_MAX_BODY_BYTES, decodeObject, decodeOptional, decodePatch, readBody } from './body.ts';
import { aggregatedDiscovery, aggregatedVersion, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.ts';
import { COMPONENT_STATUSES, COMPONENT_STATUS_WARNING, getComponentStatus, listComponentStatuses } from './component-statuses.ts';
import { checkDeleteDryRun, decodeTyped, patchStrictErrors, setWarnings, writeOptions } from './field-validation.ts';
import { RequestMetrics } from './metrics.ts';
import { openapiV3Document, openapiV3Index } from './openapi.ts';
import { routeResource, type ResourceRoute } from './router.ts';
import { toTable, type IncludeObject } from './tables.ts';
import { handleUpgrade } from './upgrade.ts';
import { proxySubresource } from './proxy.ts';
import { kubeletGet, kubeletTarget, type KubeletClientConfig } from './kubelet-client.ts';
import { hostAllowList } from './host-check.ts';
import { goJson } from './go-json.ts';
import { listQuery, queryBool, queryInt, wantsPretty } from './query.ts';
import { applyHttpLimits, HTTP_SERVER_OPTIONS, type HttpLimits } from '../../lib/http-limits.ts';
import { managerFromUserAgent } from '../patch/managed-fields.ts';

export interface HttpServerOptions {
  registry: Registry;
  authenticator: Authenticator;
  logger: Logger;
  maxBodyBytes?: number;
  /** Host names (besides IP addresses, localhost and kubernetes.default…) the API answers to. */
  allowedHostNames?: string[];
  /** Socket limits (tests shorten them). */
  limits?: HttpLimits;
  /** The etcd servers, whose health `componentstatuses` reports. */
  etcdEndpoints?: string[];
  /** The TLS the apiserver talks to etcd with: the health checks use it too. */
  etcdTls?: EtcdClientTls;
  /** kube-apiserver's --min-request-timeout: a watch without timeoutSeconds ends after 1–2× this many seconds. */
  minRequestTimeoutSeconds?: number;
  /** Serve HTTPS with this certificate (PEM); with clientCA, client certificates it issued authenticate (x509.ts). */
  tls?: ServingTls;
  /** --kubelet-client-certificate/-key/--kubelet-certificate-authority: kubelets over TLS (kubelet-client.ts); none = plain HTTP. */
  kubeletClient?: KubeletClientConfig;
}

export interface ServingTls { cert: string; key: string; clientCA?: string }

export const DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS = 1800;

export const SERVER_VERSION = {
  major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: 'kubemu', gitTreeState: 'clean',
  buildDate: '2026-11-22T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64',
};

const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
/** Streaming subresources that the kubelet serves (a later part of kubemu). */
const KUBELET_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

/** Responses whose request asked for indented JSON (`pretty`). */
const prettyResponses = new WeakSet<http.ServerResponse>();

function send(res: http.ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : goJson(body, prettyResponses.has(res));
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: ApiError): void {
  if (res.headersSent) { res.destroy(); return; }
  const status = errorToStatus(err);
  send(res, status.code ?? 500, status);
}

const wantsTable = (accept: string | undefined) => /as=Table/.test(accept ?? '') && /g=meta\.k8s\.io/.test(accept ?? '');

export function createHttpServer(opts: HttpServerOptions): http.Server {
  if (!opts?.registry || !opts.authenticator || !opts.logger) throw new TypeError('createHttpServer: registry, authenticator and logger are required');
  const { registry, authenticator, logger } = opts;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const metrics = new RequestMetrics();
  const checkHost = hostAllowList(opts.allowedHostNames);
  const minRequestTimeout = opts.minRequestTimeoutSeconds ?? DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = process.hrtime.bigint();
    let label = 'other';
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics.observe(req.method ?? 'GET', label, res.statusCode, ms);
      logger.debug({ verb: req.method, path: req.url, code: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    handle(req, res, (l) => { label = l; }).catch((err) => {
      const apiErr = toApiError(err);
      if (apiErr.code === 'InternalError') logger.error({ err: String((err as Error)?.stack ?? err), path: req.url }, 'request failed');
      // After an oversized body (read and discarded by readBody) the connection closes.
      if (apiErr.code === 'RequestEntityTooLarge' && !res.headersSent) res.setHeader('Connection', 'close');
      sendError(res, apiErr);
    });
  };
  // Client certificates are asked for but not required: a request without one may still bring a token, and
  // one that does not verify gets Kubernetes' 401 from the authenticator rather than a failed handshake.
  const server: http.Server = opts.tls
    ? https.createServer({ ...HTTP_SERVER_OPTIONS, cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.clientCA, requestCert: !!opts.tls.clientCA, rejectUnauthorized: false }, handler) as unknown as http.Server
    : http.createServer(HTTP_SERVER_OPTIONS, handler);
  server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, { registry, authenticator, checkHost, kubeletClient: opts.kubeletClient }));
  server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); });
  return applyHttpLimits(server, opts.limits);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, setLabel: (l: string) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    checkHost(req.headers.host, req.headers.origin);
    if (wantsPretty(q, req)) prettyResponses.add(res);

    // Health and version answer without authentication, as kube-apiserver's defaults allow.
    if (path === '/healthz' || path === '/livez') return send(res, 200, 'ok', 'text/plain; charset=utf-8');
    if (path === '/readyz') {
      await registry.list(systemCtx, { info: NAMESPACES }, { limit: 1 });
      return send(res, 200, 'ok', 'text/plain; charset=utf-8');
    }
    if (path === '/version') return send(res, 200, SERVER_VERSION);

    const auth = req.headers.authorization;
    const token = bearerToken(auth);
    const user = await authenticator.authenticate(token, certificateUser(req.socket));
    if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
    const ctx: RequestContext = { user };

    if (path === '/metrics') return send(res, 200, await metrics.render(), METRICS_CONTENT_TYPE);
    if (path === '/openapi/v2') return send(res, 200, '', 'application/octet-stream');
    if (path === '/openapi/v3') return send(res, 200, openapiV3Index());
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapiV3Document(path);
      if (!doc) throw new ApiError('NotFound', 'the server could not find the requested resource');
      return send(res, 200, doc);
    }
    if (path === '/api' || path === '/apis') {
      const v = aggregatedVersion(req.headers.accept);
      if (v) {
        const { body, contentType } = aggregatedDiscovery(path === '/api', v);
        return send(res, 200, body, contentType);
      }
      return send(res, 200, path === '/api' ? apiVersions(req.headers.host ?? '127.0.0.1') : apiGroupList());
    }
    const gv = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)$/.exec(path);
    if (gv) {
      const doc = gv[1] ? apiResourceList('', gv[1]) : gv[3] ? apiResourceList(gv[2], gv[3]) : apiGroup(gv[2]);
      if (!doc) throw new ApiError('NotFound', 'the server could not find the requested resource');
      return send(res, 200, doc);
    }

    const cs = /^\/api\/v1\/componentstatuses(?:\/([^/]+))?$/.exec(path);
    if (cs) { setLabel('componentstatuses'); return componentStatuses(req, res, ctx, cs[1] && decodeURIComponent(cs[1])); }

    const route = routeResource(path);
    if (!route) throw new ApiError('NotFound', 'the server could not find the requested resource');
    setLabel(route.subresource ? `${route.info.resource}/${route.subresource}` : route.info.resource);
    if (route.subresource === 'proxy' && (route.info.resource === 'pods' || route.info.resource === 'services') && route.info.group === '') {
      return proxySubresource(req, res, registry, ctx, route, url.pathname, url.search);
    }
    if (route.subresource && KUBELET_SUBRESOURCES.has(route.subresource)) {
      // The object must exist and the verb fit, as with any request; then say plainly what is missing.
      const target = await registry.get(ctx, { info: route.info, namespace: route.namespace, name: route.name });
      const verbs = route.subresource === 'log' ? ['GET'] : route.subresource === 'proxy' ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] : ['GET', 'POST'];
      if (!verbs.includes(method)) throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${route.info.resource}/${route.subresource})`);
      if (route.info.resource === 'pods' && route.subresource === 'log') return proxyLogs(res, ctx, target, q);
      // exec, attach and portforward arrive as upgrades (upgrade.ts); a plain request is answered as kube-apiserver does.
      if (route.info.resource === 'pods' && ['exec', 'attach', 'portforward'].includes(route.subresource)) throw new ApiError('BadRequest', 'Upgrade request required');
      throw new ApiError('ServiceUnavailable', `${route.info.resource}/${route.subresource} is served by the kubelet, which this kubemu cluster does not run yet`);
    }
    // A namespaced resource without a namespace is only listed and watched (across namespaces), never written.
    if (route.info.namespaced && route.namespace === undefined && method !== 'GET') {
      throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    const rvParam = q.get('resourceVersion');
    // etcd revisions are uint64 (Kubernetes' ParseResourceVersion): more digits than that is no revision at all.
    if (rvParam && (!/^\d+$/.test(rvParam) || BigInt(rvParam) > 0xffffffffffffffffn)) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rvParam}": invalid resource version`);
    // A deprecated version of a custom kind says so on every request, as kube-apiserver does.
    if (route.info.custom?.deprecationWarning) setWarnings(res, [route.info.custom.deprecationWarning]);
    const ref: ResourceRef = { info: route.info, namespace: route.namespace, name: route.name, subresource: route.subresource };
    // kube-apiserver names a write's manager after the client when the request does not.
    const fieldManager = q.get('fieldManager') || managerFromUserAgent(req.headers['user-agent']);

    /** A POST or PUT body, decoded and typed as its kind (unknown fields dropped; their warnings returned). */
    const typedBody = async (verb: 'POST' | 'PUT') => {
      const buf = await readBody(req, maxBody);
      const opts = writeOptions(q, verb);
      const body = decodeObject(req.headers['content-type'], buf) as KubeObject;
      const warnings = decodeTyped(route.info, route.subresource, body, req.headers['content-type'], buf, opts.fieldValidation);
      return { opts, body, warnings };
    };

    switch (method) {
      case 'GET': {
        if (route.legacyWatch || queryBool(q, 'watch')) return watch(req, res, ctx, route, q);
        const table = wantsTable(req.headers.accept) && !route.subresource;
        const include = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
        if (route.name) {
          const obj = await registry.get(ctx, ref);
          if (table) return send(res, 200, toTable(route.info, [obj], { resourceVersion: obj.metadata.resourceVersion }, include), TABLE_CONTENT_TYPE);
          return send(res, 200, obj);
        }
        const list = await registry.list(ctx, ref, listQuery(q, false));
        if (table) return send(res, 200, toTable(route.info, list.items, list.metadata, include), TABLE_CONTENT_TYPE);
        return send(res, 200, list);
      }
      case 'POST': {
        if (route.name && !route.subresource) throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
        const { opts, body, warnings } = await typedBody('POST');
        const created = await registry.create(ctx, ref, body, { ...opts, fieldManager });
        setWarnings(res, warnings);
        return send(res, 201, created);
      }
      case 'PUT': {
        if (!route.name) throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const { opts, body, warnings } = await typedBody('PUT');
        const updated = await registry.update(ctx, ref, body, { ...opts, fieldManager });
        setWarnings(res, warnings);
        return send(res, 200, updated);
      }
      case 'PATCH': {
        if (!route.name) throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const buf = await readBody(req, maxBody);
        const { type, patch } = decodePatch(req.headers['content-type'], buf);
        const opts = writeOptions(q, 'PATCH', type);
        const strictErrors = patchStrictErrors(type, buf.toString('utf8'), patch, opts.fieldValidation);
        const { object, created, warnings } = await registry.patch(ctx, ref, type, patch, { ...opts, fieldManager, force: queryBool(q, 'force') ?? false, patchStrictErrors: strictErrors });
        setWarnings(res, warnings ?? []);
        return send(res, created ? 201 : 200, object);
      }
      case 'DELETE': {
        const buf = await readBody(req, maxBody);
        // As kube-apiserver: options come from the body when there is one, else from the query.
        const options = buf.length > 0 ? deleteOptions(decodeOptional(req.headers['content-type'], buf)) : deleteOptions(queryDeleteOptions(q));
        if (!route.name) return send(res, 200, await registry.deleteCollection(ctx, ref, listQuery(q, false), options));
        const { object } = await registry.delete(ctx, ref, options);
        return send(res, 200, object);
      }
      default:
        throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
  }

  /** v1 ComponentStatus: list and get, computed now (component-statuses.ts). */
  async function componentStatuses(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, name: string | undefined): Promise<void> {
    if (req.method !== 'GET') throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const endpoints = opts.etcdEndpoints ?? [];
    const items = name ? [await getComponentStatus(registry, ctx, endpoints, name, opts.etcdTls)] : await listComponentStatuses(registry, ctx, endpoints, opts.etcdTls);
    setWarnings(res, [COMPONENT_STATUS_WARNING]);
    if (wantsTable(req.headers.accept)) return send(res, 200, toTable(COMPONENT_STATUSES, items, {}), TABLE_CONTENT_TYPE);
    return send(res, 200, name ? items[0] : { kind: 'ComponentStatusList', apiVersion: 'v1', metadata: {}, items });
  }

  /** pods/<name>/log: ask the pod's kubelet (its node's InternalIP and kubelet port) and stream the answer. */
  async function proxyLogs(res: http.ServerResponse, ctx: RequestContext, pod: KubeObject, q: URLSearchParams): Promise<void> {
    const name = pod.metadata.name!;
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const initContainers: string[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c: { name: string }) => c.name);
    const container = q.get('container') || (containers.length === 1 ? containers[0] : undefined);
    if (!container) throw new ApiError('BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    if (!containers.includes(container) && !initContainers.includes(container)) throw new ApiError('BadRequest', `container ${container} is not valid for pod ${name}`);
    if (!pod.spec?.nodeName) throw new ApiError('BadRequest', `container "${container}" in pod "${name}" is waiting to start: the pod is not scheduled yet`);
    const node = await registry.get(ctx, { info: findResource('', 'nodes')!, name: pod.spec.nodeName });
    const target = kubeletTarget(node);
    const params = new URLSearchParams();
    for (const k of ['follow', 'previous', 'tailLines', 'timestamps', 'limitBytes', 'sinceSeconds', 'sinceTime']) { const v = q.get(k); if (v !== null) params.set(k, v); }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const upstream = await kubeletGet(opts.kubeletClient, target, `/containerLogs/${encodeURIComponent(pod.metadata.namespace!)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params}`, abort.signal);
    if (upstream.statusCode !== 200) {
      let text = '';
      for await (const chunk of upstream) text += chunk;
      throw new ApiError(upstream.statusCode === 404 ? 'NotFound' : upstream.statusCode === 401 || upstream.statusCode === 403 ? 'InternalError' : 'BadRequest', text.trim());
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    try {
      for await (const chunk of upstream as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
        if (res.destroyed) break;
      }
    } catch { /* client or kubelet went away */ }
    if (!res.destroyed) res.end();
  }

  async function watch(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, route: ResourceRoute, q: URLSearchParams): Promise<void> {
    const { labelSelector, fieldSelector, resourceVersion, allowWatchBookmarks, timeoutSeconds: asked, sendInitialEvents } = listQuery(q, true);
    // As kube-apiserver: a watch that names no timeout gets a random one in [min, 2·min) seconds, so that clients
    // re-watch (and re-list after a 410) from time to time and watches spread over restarted apiservers.
    const timeoutSeconds = asked || minRequestTimeout * (1 + Math.random());
    const opts: WatchOptions = { labelSelector, fieldSelector, resourceVersion, allowWatchBookmarks, timeoutSeconds, sendInitialEvents };
    const w = await registry.watch(ctx, { info: route.info, namespace: route.namespace, name: route.name }, opts);
    const table = wantsTable(req.headers.accept);
    const include = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
    metrics.watches++;
    // Node 20: req 'close' fires once the body is read; only res 'close' means the client went.
    res.on('close', () => w.close());
    res.writeHead(200, { 'Content-Type': table ? TABLE_CONTENT_TYPE : 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    let first = true;
    try {
      for await (const ev of w) {
        let object: unknown = ev.object;
        if (table && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')) {
          object = toTable(route.info, [ev.object], { resourceVersion: ev.object.metadata.resourceVersion }, include, first);
          first = false;
        }
        if (!res.write(JSON.stringify({ type: ev.type, object }) + '\n')) {
          await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
        }
        if (res.destroyed) break;
      }
    } finally {
      metrics.watches--;
      w.close();
      if (!res.destroyed) res.end();
    }
  }
}

const NAMESPACES = findResource('', 'namespaces')!;
const systemCtx: RequestContext = { user: { username: 'system:apiserver', groups: ['system:masters'] } };

/** DeleteOptions from the query, in the shape of a body. */
function queryDeleteOptions(q: URLSearchParams): Record<string, unknown> {
  return {
    gracePeriodSeconds: queryInt(q, 'gracePeriodSeconds'),
    propagationPolicy: q.get('propagationPolicy') ?? undefined,
    orphanDependents: queryBool(q, 'orphanDependents'),
    dryRun: q.getAll('dryRun'),
  };
}

function deleteOptions(body: Record<string, any>): DeleteOptions {
  const opts: DeleteOptions = {};
  const grace = body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    if (!Number.isInteger(grace)) throw new ApiError('BadRequest', 'gracePeriodSeconds must be an integer');
    opts.gracePeriodSeconds = grace;
  }
  const policy = body.propagationPolicy ?? undefined;
  const orphan = body.orphanDependents ?? undefined;
  if (policy !== undefined && orphan !== undefined) {
    throw new ApiError('Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "${policy}": orphanDependents and deletionPropagation cannot be both set`,
      { kind: 'DeleteOptions', group: 'meta.k8s.io', name: '', causes: [{ reason: 'FieldValueInvalid', field: 'propagationPolicy', message: `Invalid value: "${policy}": orphanDependents and deletionPropagation cannot be both set` }] });
  }
  if (policy !== undefined) {
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw new ApiError('Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        { kind: 'DeleteOptions', group: 'meta.k8s.io', causes: [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"` }] });
    }
    opts.propagationPolicy = policy;
  }
  if (orphan !== undefined) opts.orphanDependents = Boolean(orphan);
  if (body.preconditions !== undefined && body.preconditions !== null) {
    const p = body.preconditions;
    if (typeof p !== 'object' || Array.isArray(p)) {
      throw new ApiError('BadRequest', `json: cannot unmarshal ${Array.isArray(p) ? 'array' : typeof p} into Go struct field DeleteOptions.preconditions of type v1.Preconditions`);
    }
    for (const f of ['uid', 'resourceVersion']) {
      if (p[f] !== undefined && p[f] !== null && typeof p[f] !== 'string') {
        throw new ApiError('BadRequest', `json: cannot unmarshal ${typeof p[f]} into Go struct field Preconditions.preconditions.${f} of type string`);
      }
    }
    opts.preconditions = p;
  }
  const dry = Array.isArray(body.dryRun) ? body.dryRun : [];
  if (dry.length) { checkDeleteDryRun(dry); opts.dryRun = dry; }
  return opts;
}
