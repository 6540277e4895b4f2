// Wires the apiserver: etcd store → registry (admission + storage rules) → two transports,
// REST (node:http) and gRPC, on their own ports. Tests start it on port 0 through
// startApiServer(); main.ts parses flags and calls the same function.
import type { ValueTransformer } from './storage/codec.ts';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { UserInfo } from '../api/types.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { requestAuthenticator } from './auth/authenticator.ts';
import { ServiceAccountTokens, type TokenLookup } from './auth/service-account-tokens.ts';
import { BootstrapTokens } from './auth/bootstrap-tokens.ts';
import { findResource, storageKey } from '../api/resources.ts';
import crypto, { type KeyObject } from 'node:crypto';
import { allowAll } from './auth/authorizer.ts';
import { EtcdStore, type EtcdClientTls } from './storage/etcd-store.ts';
import { createRegistry } from './registry/index.ts';
import { reconcileKubernetesEndpoints } from './registry/bootstrap.ts';
import { CrdController } from './crd/controller.ts';
import { createHttpServer, type ServingTls } from './http/server.ts';
import { createGrpcServer } from './grpc/server.ts';
import { closeServer, trackSockets } from '../lib/close-server.ts';
import type { HttpLimits } from '../lib/http-limits.ts';
import type { KubeletClientConfig } from './http/kubelet-client.ts';

export interface ApiServerOptions {
  etcdEndpoints: string[];
  /** TLS to etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile): https:// endpoints verified with the CA, the client certificate presented. */
  etcdTls?: EtcdClientTls;
  /** Address both transports bind; loopback unless told otherwise. */
  bindAddress?: string;
  /** REST port; 0 = any free port. */
  port?: number;
  /** gRPC port; 0 = any free port. */
  grpcPort?: number;
  serviceClusterIPRange?: string;
  nodePortRange?: [number, number];
  /** Bearer tokens; none = anonymous admin access. */
  tokens?: Map<string, UserInfo>;
  logger?: Logger;
  /** etcd compaction period, as kube-apiserver's --etcd-compaction-interval (default 5 min; 0 = never). */
  compactionIntervalMs?: number;
  /** Host names besides IP addresses and localhost that the plain-HTTP API answers to (DNS-rebinding guard). */
  allowedHostNames?: string[];
  /** HTTP socket limits; the defaults are kube-apiserver's (lib/http-limits.ts). */
  httpLimits?: HttpLimits;
  /** Encryption at rest (--encryption-provider-config, storage/encryption.ts); none = values stored as they are. */
  encryption?: ValueTransformer;
  /**
   * ServiceAccount tokens: the signing key (--service-account-signing-key-file), further verification keys
   * (--service-account-key-file), the issuer and the API's audiences. Without a key, one is made for this process:
   * its tokens end with it (kubemu up keeps one in <dir>/pki/).
   */
  serviceAccountSigningKey?: KeyObject;
  serviceAccountPublicKeys?: KeyObject[];
  serviceAccountIssuer?: string;
  apiAudiences?: string[];
  /** kube-apiserver's --enable-bootstrap-token-auth: kube-system bootstrap-token-<id> Secrets are bearer tokens. */
  enableBootstrapTokenAuth?: boolean;
  /** kube-apiserver's --min-request-timeout in seconds (default 1800): REST watches without timeoutSeconds end after 1–2× it. */
  minRequestTimeoutSeconds?: number;
  /** Recent events the watch cache keeps per resource (kube-apiserver's --default-watch-cache-size; kubemu's default 1000). */
  watchCacheSize?: number;
  /**
   * TLS on both ports (--tls-cert-file, --tls-private-key-file, --client-ca-file): REST is HTTPS, gRPC is TLS, and
   * client certificates the client CA issued authenticate. With a client CA, requests without credentials are
   * 401 (but /healthz, /livez, /readyz and /version).
   */
  tls?: ServingTls;
  /** The address the `kubernetes` Service's Endpoints name (--advertise-address); default the bind address, or 127.0.0.1. */
  advertiseAddress?: string;
  /** A plain-HTTP REST port on 127.0.0.1 where every request is the admin, kube-apiserver's old --insecure-port: for learning only. */
  insecurePort?: number;

  /** --kubelet-client-certificate/--kubelet-client-key/--kubelet-certificate-authority (PEM): logs, exec, attach and
   *  port-forward reach kubelets over TLS (http/kubelet-client.ts); none = plain HTTP. */
  kubeletClient?: KubeletClientConfig;
  /**
   * Admission plugins turned off by name, as kube-apiserver's --disable-admission-plugins. Tests without a controller
   * manager turn off ServiceAccount (no `default` ServiceAccount is made there), as Kubernetes' integration tests do.
   */
  disableAdmissionPlugins?: string[];
}

export const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;

export interface RunningApiServer {
  /** https://host:port (http:// without TLS) */
  url: string;
  /** http://127.0.0.1:port when an insecure port was asked for */
  insecureUrl?: string;
  /** host:port of the gRPC service */
  grpcAddress: string;
  close(): Promise<void>;
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * gRPC over TLS with client certificates asked for but not required, as on the REST port (a token may come
 * instead). grpc-js's createSsl cannot ask without requiring; its certificate-provider credentials can, fed
 * here once with the PEMs (one provider for both roles: the identity and the CA). The answers come a tick later:
 * grpc-js registers the server's watcher only after adding these listeners.
 */
function grpcServerCredentials(t: ServingTls): grpc.ServerCredentials {
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (l) => setImmediate(() => l(t.clientCA ? { caCertificate: Buffer.from(t.clientCA) } : null)),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (l) => setImmediate(() => l({ certificate: Buffer.from(t.cert), privateKey: Buffer.from(t.key) })),
    removeIdentityCertificateListener: () => {},
  };
  return grpc.experimental.createCertificateProviderServerCredentials(provider, t.clientCA ? provider : null, false);
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const logger = opts.logger ?? silentLogger();
  const host = opts.bindAddress ?? '127.0.0.1';
  const store = new EtcdStore({ endpoints: opts.etcdEndpoints, tls: opts.etcdTls, logger: logger.child({ part: 'storage' }), transformer: opts.encryption, watchCacheCapacity: opts.watchCacheSize });
  // What a token names is read straight from the store: authentication comes before any authorization.
  const lookup: TokenLookup = { get: (resource, ns, name) => store.get(storageKey('/registry', findResource('', resource)!, ns, name)) };
  const serviceAccounts = new ServiceAccountTokens({
    signingKey: opts.serviceAccountSigningKey ?? crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
    publicKeys: opts.serviceAccountPublicKeys, issuer: opts.serviceAccountIssuer, audiences: opts.apiAudiences, lookup,
  });
  const authenticator = requestAuthenticator({ tokens: opts.tokens, serviceAccounts, clientCertificates: !!opts.tls?.clientCA, bootstrapTokens: opts.enableBootstrapTokenAuth ? new BootstrapTokens(lookup) : undefined });
  const registry = createRegistry({
    store,
    authorizer: allowAll(),
    serviceClusterIPRange: opts.serviceClusterIPRange ?? DEFAULT_SERVICE_CIDR,
    nodePortRange: opts.nodePortRange ?? [30000, 32767],
    logger: logger.child({ part: 'registry' }),
    serviceAccountTokens: serviceAccounts,
    disableAdmissionPlugins: opts.disableAdmissionPlugins,
    reviewToken: (token, audiences) => authenticator.review(token, audiences),
  });
  await registry.bootstrap();
  // CustomResourceDefinitions: their kinds served by this apiserver as soon as etcd has them.
  const crds = new CrdController(store, logger.child({ part: 'crd' }));
  crds.start();
  const compaction = opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
  if (compaction > 0) store.startCompactor(compaction);

  const httpOptions = { registry, logger: logger.child({ part: 'http' }), allowedHostNames: opts.allowedHostNames, limits: opts.httpLimits, etcdEndpoints: opts.etcdEndpoints, etcdTls: opts.etcdTls, minRequestTimeoutSeconds: opts.minRequestTimeoutSeconds, kubeletClient: opts.kubeletClient };
  const httpServer: http.Server = trackSockets(createHttpServer({ ...httpOptions, authenticator, tls: opts.tls }));
  const port = await listen(httpServer, opts.port ?? 0, host);
  const advertise = opts.advertiseAddress ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  await reconcileKubernetesEndpoints(store, advertise, port).catch((err) => logger.warn({ err: String(err) }, 'could not write the kubernetes Endpoints'));
  let insecure: http.Server | undefined;
  if (opts.insecurePort !== undefined) {
    // No credentials on this port: like kube-apiserver's old insecure port, every request is the admin.
    insecure = trackSockets(createHttpServer({ ...httpOptions, authenticator: requestAuthenticator({ serviceAccounts }) }));
    await listen(insecure, opts.insecurePort, '127.0.0.1');
  }

  const grpcServer = createGrpcServer({ registry, authenticator, logger: logger.child({ part: 'grpc' }) });
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(`${host}:${opts.grpcPort ?? 0}`, opts.tls ? grpcServerCredentials(opts.tls) : grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)));
  });

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  const insecureUrl = insecure ? `http://127.0.0.1:${(insecure.address() as AddressInfo).port}` : undefined;
  logger.info({ url, grpc: `${host}:${grpcPort}`, tls: !!opts.tls, clientCertificates: !!opts.tls?.clientCA, insecureUrl }, 'apiserver listening');
  if (insecureUrl) logger.warn({ insecureUrl }, 'insecure port on: every request to it is the admin, with no credentials (for learning only)');
  return {
    url,
    insecureUrl,
    grpcAddress: `${urlHost}:${grpcPort}`,
    async close() {
      grpcServer.forceShutdown();
      if (insecure) await closeServer(insecure);
      await closeServer(httpServer);
      registry.close();
      crds.close();
      await store.close();
    },
  };
}
