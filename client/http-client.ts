// The ApiClient over the Kubernetes REST API (undici Pool): JSON bodies, Status errors turned
// back into ApiError, and ?watch=true streams read as JSON lines.
import { createRequire } from 'node:module';
import type { Pool } from 'undici';
import { ApiError, statusToError } from '../api/errors.ts';
import type { DeleteOptions, KubeList, KubeObject, ListOptions, WatchEvent, WatchOptions } from '../api/types.ts';
import type { ApiClient, ClientTls, ClientWatch, ResourceKey } from './api-client.ts';
import { query, resourcePath } from './paths.ts';

export interface HttpClientOptions {
  /** e.g. http://127.0.0.1:6443 */
  server: string;
  token?: string;
  connections?: number;
  userAgent?: string;
  /** The CA that verifies an https server, and a client certificate (x509 authentication). */
  tls?: ClientTls;
}

const PATCH_CONTENT_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** undici, loaded on the first HTTP client: components on gRPC (scheduler, controller manager, DNS) never
 *  need it, and it is ~20 MB of every process's memory. */
const undiciPool = (): typeof Pool => (createRequire(import.meta.url)('undici') as typeof import('undici')).Pool;

export class HttpApiClient implements ApiClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(opts: HttpClientOptions) {
    if (!/^https?:\/\//.test(opts?.server ?? '')) throw new Error(`HttpApiClient: server must be an http(s) URL, got ${JSON.stringify(opts?.server)}`);
    const t = opts.tls;
    const connect = t && opts.server.startsWith('https:') ? { ca: t.ca, cert: t.cert, key: t.key, servername: t.serverName } : undefined;
    this.pool = new (undiciPool())(opts.server, { connections: opts.connections ?? 64, pipelining: 1, ...(connect ? { connect } : {}) });
    this.headers = {
      accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}),
    };
  }

  private async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await this.pool.request({
      method, path,
      headers: body === undefined ? this.headers : { ...this.headers, 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: any;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
    if (res.statusCode >= 400) {
      if (parsed?.kind === 'Status') throw statusToError(parsed, res.statusCode);
      throw statusToError({ message: text || `HTTP ${res.statusCode}` }, res.statusCode);
    }
    return parsed as T;
  }

  get<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', resourcePath(res, namespace, name));
  }

  list<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.request('GET', resourcePath(res, namespace) + query({
      labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, resourceVersion: opts.resourceVersion,
      limit: opts.limit, continue: opts.continue,
    }));
  }

  create<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.request('POST', resourcePath(res, namespace), obj);
  }

  createSubresource<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T> {
    return this.request('POST', resourcePath(res, namespace, name, subresource), body);
  }

  update<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.request('PUT', resourcePath(res, namespace, obj.metadata.name), obj);
  }

  updateStatus<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.request('PUT', resourcePath(res, namespace, obj.metadata.name, 'status'), obj);
  }

  patch<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string, patch: unknown,
    opts: { type?: 'merge' | 'json' | 'strategic'; subresource?: string } = {}): Promise<T> {
    const type = opts.type ?? (Array.isArray(patch) ? 'json' : 'merge');
    return this.request('PATCH', resourcePath(res, namespace, name, opts.subresource), patch, PATCH_CONTENT_TYPES[type]);
  }

  delete(res: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject> {
    return this.request('DELETE', resourcePath(res, namespace, name), opts ?? {});
  }

  async bind(namespace: string, podName: string, nodeName: string, podUid?: string): Promise<void> {
    await this.request('POST', resourcePath({ group: '', resource: 'pods' }, namespace, podName, 'binding'), {
      apiVersion: 'v1', kind: 'Binding',
      metadata: { name: podName, namespace, ...(podUid ? { uid: podUid } : {}) },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    });
  }

  async watch(res: ResourceKey, namespace: string | undefined, opts: WatchOptions = {}): Promise<ClientWatch> {
    const abort = new AbortController();
    const response = await this.pool.request({
      method: 'GET',
      path: resourcePath(res, namespace) + query({
        watch: 'true', labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined, timeoutSeconds: opts.timeoutSeconds,
      }),
      headers: this.headers,
      signal: abort.signal,
    });
    if (response.statusCode >= 400) {
      const text = await response.body.text();
      let status: any;
      try { status = JSON.parse(text); } catch { status = { message: text } }
      throw statusToError(status, response.statusCode);
    }
    const body = response.body;
    async function* events(): AsyncGenerator<WatchEvent> {
      let buffer = '';
      try {
        for await (const chunk of body) {
          buffer += chunk.toString();
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line) yield JSON.parse(line) as WatchEvent;
          }
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        throw err instanceof ApiError ? err : new ApiError('ServiceUnavailable', `watch stream broken: ${(err as Error).message}`);
      }
    }
    const it = events();
    return { close: () => abort.abort(), [Symbol.asyncIterator]: () => it };
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}
