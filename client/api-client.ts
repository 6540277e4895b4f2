// The one client interface every component uses, with two transports behind it:
// HttpApiClient (the Kubernetes REST API, undici, incl. ?watch=true streams) and
// GrpcApiClient (proto/api.proto). Resources are named as in api/resources.ts, e.g.
// { group: 'apps', resource: 'deployments' } or the ResourceInfo itself.
// Errors are ApiError with the Kubernetes reason as `code` (NotFound, Conflict, Gone, …).
import type { ResourceInfo } from '../api/resources.ts';
import type { DeleteOptions, KubeList, KubeObject, ListOptions, WatchEvent, WatchOptions } from '../api/types.ts';

export type ResourceKey = Pick<ResourceInfo, 'group' | 'resource'>;

/** TLS to the apiserver, PEM text: the CA that verifies it, and a client certificate with its key. */
export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** The name the server's certificate must carry, when it is not the host dialled. */
  serverName?: string;
}

export interface ClientWatch extends AsyncIterable<WatchEvent> {
  close(): void;
}

export interface ApiClient {
  get<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string): Promise<T>;
  list<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, opts?: ListOptions): Promise<KubeList<T>>;
  create<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T>;
  /** POST on an object's subresource (serviceaccounts/<name>/token with a TokenRequest, pods/<name>/eviction): the reply. */
  createSubresource<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T>;
  /** PUT: compare-and-swap on obj.metadata.resourceVersion when set. */
  update<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T>;
  /** PUT …/status. */
  updateStatus<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T>;
  /** PATCH with a merge patch (RFC 7386) or a JSON patch (array). `subresource` e.g. 'status' or 'scale'. */
  patch<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string,
    patch: unknown, opts?: { type?: 'merge' | 'json' | 'strategic'; subresource?: string }): Promise<T>;
  delete(res: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /** POST pods/<name>/binding. */
  bind(namespace: string, podName: string, nodeName: string, podUid?: string): Promise<void>;
  watch(res: ResourceKey, namespace: string | undefined, opts?: WatchOptions): Promise<ClientWatch>;
  close(): Promise<void>;
}
