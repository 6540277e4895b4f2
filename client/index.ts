// One entry point for components and tools: createApiClient({ transport, server, token }).
export type { ApiClient, ClientTls, ClientWatch, ResourceKey } from './api-client.ts';
export { HttpApiClient } from './http-client.ts';
export { GrpcApiClient } from './grpc-client.ts';
export { Informer } from './informer.ts';
export { WorkQueue } from './workqueue.ts';
export { LeaderElector } from './leader-election.ts';
export { readKubeconfig } from './kubeconfig.ts';

import type { ApiClient, ClientTls } from './api-client.ts';
import { GrpcApiClient } from './grpc-client.ts';
import { HttpApiClient } from './http-client.ts';

export type Transport = 'grpc' | 'http';

export interface ClientOptions {
  transport: Transport;
  /** http: a URL such as http://127.0.0.1:6443; grpc: host:port such as 127.0.0.1:6444. */
  server: string;
  token?: string;
  /** TLS: the cluster CA and the component's client certificate (PEM). */
  tls?: ClientTls;
  /** Sent as User-Agent: the apiserver names the component's writes in managedFields after it (the part before `/`). */
  userAgent?: string;
}

export function createApiClient(opts: ClientOptions): ApiClient {
  switch (opts?.transport) {
    case 'http': return new HttpApiClient({ server: opts.server, token: opts.token, tls: opts.tls, userAgent: opts.userAgent });
    case 'grpc': return new GrpcApiClient({ server: opts.server, token: opts.token, tls: opts.tls, userAgent: opts.userAgent });
    default: throw new Error(`createApiClient: transport must be "grpc" or "http", got ${JSON.stringify(opts?.transport)}`);
  }
}
