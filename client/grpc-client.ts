// The ApiClient over the components' gRPC API (proto/api.proto). Errors come back as the
// same ApiError the REST path gives: the server puts the Status JSON in trailing metadata.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ApiError, statusToError } from '../api/errors.ts';
import type { DeleteOptions, KubeList, KubeObject, ListOptions, WatchEvent, WatchOptions } from '../api/types.ts';
import type { ApiClient, ClientTls, ClientWatch, ResourceKey } from './api-client.ts';
import { resourceInfo } from './paths.ts';
import path from 'node:path';
import { ROOT } from '../lib/root.ts';

const PROTO = path.join(ROOT, 'proto/api.proto');
const STATUS_METADATA_KEY = 'kubemu-status-bin';

let ctor: grpc.ServiceClientConstructor | undefined;
function apiClientConstructor(): grpc.ServiceClientConstructor {
  if (!ctor) {
    const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
    ctor = (grpc.loadPackageDefinition(def) as any).kubemu.api.v1.Api as grpc.ServiceClientConstructor;
  }
  return ctor;
}

function toApiError(err: grpc.ServiceError): ApiError {
  const raw = err.metadata?.get(STATUS_METADATA_KEY)?.[0];
  if (raw) {
    try { return statusToError(JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw))); } catch { /* fall through */ }
  }
  if (err.code === grpc.status.UNAVAILABLE) return new ApiError('ServiceUnavailable', `apiserver unavailable: ${err.details}`);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new ApiError('Timeout', err.details);
  return new ApiError('InternalError', err.details || err.message);
}

export interface GrpcClientOptions {
  /** host:port of the apiserver's gRPC service, or several IPv4 ones comma-separated (replicas: the first
   *  that answers is used, the next ones when it goes away) */
  server: string;
  token?: string;
  /** TLS to the apiserver: the CA that verifies it, and a client certificate (x509 authentication). */
  tls?: ClientTls;
  /** Put before grpc-js's own User-Agent, which the apiserver reads up to the first `/`. */
  userAgent?: string;
}

/**
 * The gRPC target for --server. Several apiservers (127.0.0.1:6444,127.0.0.1:6446) become one `ipv4:` target:
 * grpc-js's pick_first connects to the first that answers and, when that connection breaks, to the next one
 * that does — failover between apiserver replicas without a load balancer in front.
 */
export function grpcTarget(server: string | undefined): string {
  if (!server || /^https?:\/\//.test(server)) throw new Error(`GrpcApiClient: server must be host:port, got ${JSON.stringify(server)}`);
  const list = server.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 1) return list[0];
  const bad = list.filter((a) => !/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(a));
  if (bad.length) throw new Error(`GrpcApiClient: several servers must each be IPv4:port, got ${bad.join(', ')}`);
  return `ipv4:${list.join(',')}`;
}

export class GrpcApiClient implements ApiClient {
  private readonly client: grpc.Client & Record<string, any>;
  private readonly metadata: grpc.Metadata;

  constructor(opts: GrpcClientOptions) {
    const Ctor = apiClientConstructor();
    const t = opts.tls;
    const credentials = t ? grpc.credentials.createSsl(t.ca ? Buffer.from(t.ca) : null, t.key ? Buffer.from(t.key) : null, t.cert ? Buffer.from(t.cert) : null)
      : grpc.credentials.createInsecure();
    this.client = new Ctor(grpcTarget(opts?.server), credentials, {
      ...(t?.serverName ? { 'grpc.ssl_target_name_override': t.serverName, 'grpc.default_authority': t.serverName } : {}),
      'grpc.max_receive_message_length': 512 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      ...(opts.userAgent ? { 'grpc.primary_user_agent': opts.userAgent } : {}),
    }) as grpc.Client & Record<string, any>;
    this.metadata = new grpc.Metadata();
    if (opts.token) this.metadata.set('authorization', `Bearer ${opts.token}`);
  }

  private call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method](req, this.metadata, (err: grpc.ServiceError | null, reply: { json: Buffer }) => {
        if (err) return reject(toApiError(err));
        try { resolve(JSON.parse(Buffer.from(reply.json).toString('utf8'))); } catch (e) { reject(new ApiError('InternalError', `bad reply: ${(e as Error).message}`)); }
      });
    });
  }

  private ref(res: ResourceKey, namespace: string | undefined, name?: string) {
    const info = resourceInfo(res);
    return { group: info.group, resource: info.resource, namespace: info.namespaced ? namespace ?? '' : '', name: name ?? '' };
  }

  get<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string): Promise<T> {
    return this.call('Get', { ref: this.ref(res, namespace, name) });
  }

  list<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.call('List', {
      ref: this.ref(res, namespace), labelSelector: opts.labelSelector ?? '', fieldSelector: opts.fieldSelector ?? '',
      resourceVersion: opts.resourceVersion ?? '', limit: opts.limit ?? 0, continue: opts.continue ?? '',
    });
  }

  create<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.call('Create', { ref: this.ref(res, namespace), json: Buffer.from(JSON.stringify(obj)) });
  }

  createSubresource<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T> {
    return this.call('Create', { ref: this.ref(res, namespace, name), json: Buffer.from(JSON.stringify(body)), subresource });
  }

  update<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.call('Update', { ref: this.ref(res, namespace, obj.metadata.name), json: Buffer.from(JSON.stringify(obj)) });
  }

  updateStatus<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.call('UpdateStatus', { ref: this.ref(res, namespace, obj.metadata.name), json: Buffer.from(JSON.stringify(obj)) });
  }

  patch<T extends KubeObject = KubeObject>(res: ResourceKey, namespace: string | undefined, name: string, patch: unknown,
    opts: { type?: 'merge' | 'json' | 'strategic'; subresource?: string } = {}): Promise<T> {
    return this.call('Patch', {
      ref: this.ref(res, namespace, name), patchType: opts.type ?? (Array.isArray(patch) ? 'json' : 'merge'),
      patch: Buffer.from(JSON.stringify(patch)), subresource: opts.subresource ?? '',
    });
  }

  delete(res: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject> {
    return this.call('Delete', { ref: this.ref(res, namespace, name), optionsJson: Buffer.from(opts ? JSON.stringify(opts) : '') });
  }

  async bind(namespace: string, podName: string, nodeName: string, podUid?: string): Promise<void> {
    await this.call('Bind', {
      ref: this.ref({ group: '', resource: 'pods' }, namespace, podName),
      bindingJson: Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: podName, namespace, ...(podUid ? { uid: podUid } : {}) }, target: { kind: 'Node', name: nodeName } })),
    });
  }

  async watch(res: ResourceKey, namespace: string | undefined, opts: WatchOptions = {}): Promise<ClientWatch> {
    const stream: grpc.ClientReadableStream<{ type: string; json: Buffer }> = this.client.Watch({
      ref: this.ref(res, namespace), labelSelector: opts.labelSelector ?? '', fieldSelector: opts.fieldSelector ?? '',
      resourceVersion: opts.resourceVersion ?? '', allowBookmarks: Boolean(opts.allowWatchBookmarks),
    }, this.metadata);
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const close = () => { closed = true; if (timer) clearTimeout(timer); stream.cancel(); };
    if (opts.timeoutSeconds && opts.timeoutSeconds > 0) timer = setTimeout(close, opts.timeoutSeconds * 1000);
    async function* events(): AsyncGenerator<WatchEvent> {
      try {
        for await (const msg of stream) {
          yield { type: msg.type as WatchEvent['type'], object: JSON.parse(Buffer.from(msg.json).toString('utf8')) };
        }
      } catch (err) {
        if (closed || (err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
        throw toApiError(err as grpc.ServiceError);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
    const it = events();
    return { close, [Symbol.asyncIterator]: () => it };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
