// kubemu apiserver: flags → options → startApiServer. Runs until SIGTERM/SIGINT.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { ServingTls } from './http/server.ts';
import { createLogger } from '../lib/logger.ts';
import { parseDuration } from '../lib/duration.ts';
import { readTokenFile } from './auth/authenticator.ts';
import { DEFAULT_SERVICE_CIDR, startApiServer } from './server.ts';
import { loadEncryptionConfig } from './storage/encryption.ts';
import { readPrivateKey, readPublicKeys } from './auth/service-account-tokens.ts';
import type { KeyObject } from 'node:crypto';
import { KUBELET_CLIENT_FLAGS, KUBELET_CLIENT_USAGE, kubeletClientFromFlags } from './kubelet-client-flags.ts';
import { PLUGIN_NAMES } from './admission/index.ts';
import type { EtcdClientTls } from './storage/etcd-store.ts';

const USAGE = `usage: apiserver --etcd-servers URL[,URL…] [--bind-address 127.0.0.1] [--port 6443] [--grpc-port 6444]
                 [--service-cluster-ip-range ${DEFAULT_SERVICE_CIDR}] [--service-node-port-range 30000-32767]
                 [--token-auth-file FILE] [--enable-bootstrap-token-auth] [--encryption-provider-config FILE] [--etcd-compaction-interval 5m0s]
                 [--etcd-cafile PEM [--etcd-certfile PEM --etcd-keyfile PEM]]
                 [--service-account-signing-key-file PEM] [--service-account-key-file PEM]…
                 [--service-account-issuer URL] [--api-audiences AUD,…]
                 [--tls-cert-file PEM --tls-private-key-file PEM] [--client-ca-file PEM] [--insecure-port PORT] [--advertise-address IP]
                 [--disable-admission-plugins NAME,…] [--allowed-host-names NAME,…] [--min-request-timeout 1800]
                 [--log-level info]
                 ${KUBELET_CLIENT_USAGE}`;


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'etcd-servers': { type: 'string' },
      'etcd-cafile': { type: 'string' },
      'etcd-certfile': { type: 'string' },
      'etcd-keyfile': { type: 'string' },
      'bind-address': { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6443' },
      'grpc-port': { type: 'string', default: '6444' },
      'service-cluster-ip-range': { type: 'string', default: DEFAULT_SERVICE_CIDR },
      'service-node-port-range': { type: 'string', default: '30000-32767' },
      'token-auth-file': { type: 'string' },
      'enable-bootstrap-token-auth': { type: 'boolean', default: false },
      'encryption-provider-config': { type: 'string' },
      'service-account-signing-key-file': { type: 'string' },
      'service-account-key-file': { type: 'string', multiple: true },
      'service-account-issuer': { type: 'string' },
      'api-audiences': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      'client-ca-file': { type: 'string' },
      'insecure-port': { type: 'string' },
      'advertise-address': { type: 'string' },
      'etcd-compaction-interval': { type: 'string', default: '5m0s' },
      'allowed-host-names': { type: 'string', default: '' },
      'disable-admission-plugins': { type: 'string', default: '' },
      'min-request-timeout': { type: 'string', default: '1800' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean' },
      ...KUBELET_CLIENT_FLAGS,
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  if (!values['etcd-servers']) errors.push('--etcd-servers is required');
  const port = Number(values.port);
  const grpcPort = Number(values['grpc-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`--port: not a port: ${values.port}`);
  if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) errors.push(`--grpc-port: not a port: ${values['grpc-port']}`);
  const range = values['service-node-port-range']!.match(/^(\d+)-(\d+)$/);
  if (!range || Number(range[1]) > Number(range[2])) errors.push(`--service-node-port-range: want LOW-HIGH, got ${values['service-node-port-range']}`);
  const compaction = parseDuration(values['etcd-compaction-interval']!);
  if (compaction === undefined) errors.push(`--etcd-compaction-interval: not a duration: ${values['etcd-compaction-interval']}`);
  const minRequestTimeout = Number(values['min-request-timeout']);
  if (!/^\d+$/.test(values['min-request-timeout']!)) errors.push(`--min-request-timeout: not a number of seconds: ${values['min-request-timeout']}`);
  if (!!values['etcd-certfile'] !== !!values['etcd-keyfile']) errors.push('--etcd-certfile and --etcd-keyfile go together');
  if (values['etcd-certfile'] && !values['etcd-cafile']) errors.push('--etcd-certfile needs --etcd-cafile (the CA that verifies etcd)');
  if (values['etcd-cafile'] && values['etcd-servers']?.split(',').some((u) => !u.startsWith('https://'))) errors.push('--etcd-cafile: every --etcd-servers URL must be https://');
  if (!!values['tls-cert-file'] !== !!values['tls-private-key-file']) errors.push('--tls-cert-file and --tls-private-key-file go together');
  if (values['client-ca-file'] && !values['tls-cert-file']) errors.push('--client-ca-file needs --tls-cert-file (client certificates come over TLS)');
  const insecurePort = values['insecure-port'] === undefined ? undefined : Number(values['insecure-port']);
  if (insecurePort !== undefined && !(/^\d+$/.test(values['insecure-port']!) && insecurePort <= 65535)) errors.push(`--insecure-port: not a port: ${values['insecure-port']}`);
  const disabledPlugins = values['disable-admission-plugins']!.split(',').map((n) => n.trim()).filter(Boolean);
  for (const n of disabledPlugins) if (!PLUGIN_NAMES.includes(n)) errors.push(`--disable-admission-plugins: unknown admission plugin "${n}" (known: ${PLUGIN_NAMES.join(', ')})`);
  if (errors.length) {
    console.error(`${errors.join('\n')}\n${USAGE}`);
    process.exit(2);
  }
  let encryption: ReturnType<typeof loadEncryptionConfig> | undefined;
  try {
    encryption = values['encryption-provider-config'] ? loadEncryptionConfig(values['encryption-provider-config']) : undefined;
  } catch (err) {
    console.error(`--encryption-provider-config: ${(err as Error).message}`);
    process.exit(2);
  }
  let signingKey: KeyObject | undefined;
  let publicKeys: KeyObject[] = [];
  try {
    if (values['service-account-signing-key-file']) signingKey = readPrivateKey(values['service-account-signing-key-file']);
    publicKeys = (values['service-account-key-file'] ?? []).flatMap(readPublicKeys);
  } catch (err) {
    console.error(`service account keys: ${(err as Error).message}`);
    process.exit(2);
  }
  let tls: ServingTls | undefined;
  let etcdTls: EtcdClientTls | undefined;
  try {
    if (values['etcd-cafile']) {
      etcdTls = { ca: fs.readFileSync(values['etcd-cafile'], 'utf8'), ...(values['etcd-certfile'] ? { cert: fs.readFileSync(values['etcd-certfile'], 'utf8'), key: fs.readFileSync(values['etcd-keyfile']!, 'utf8') } : {}) };
    }
    if (values['tls-cert-file']) {
      tls = { cert: fs.readFileSync(values['tls-cert-file'], 'utf8'), key: fs.readFileSync(values['tls-private-key-file']!, 'utf8'), clientCA: values['client-ca-file'] ? fs.readFileSync(values['client-ca-file'], 'utf8') : undefined };
    }
  } catch (err) {
    console.error(`TLS files: ${(err as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger('apiserver', { level: values['log-level'] });
  if (!tls) logger.warn('no --tls-cert-file: the API is served over plain HTTP, and kubectl will not send a token over it');
  const kubeletErrors: string[] = [];
  const kubeletClient = kubeletClientFromFlags(values, kubeletErrors, logger);
  if (kubeletErrors.length) { console.error(kubeletErrors.join('\n')); process.exit(2); }
  if (!signingKey) logger.warn('no --service-account-signing-key-file: ServiceAccount tokens are signed with a key made for this process and end with it');
  if (encryption) logger.info({ resources: encryption.resources }, 'encryption at rest on');
  const server = await startApiServer({
    etcdEndpoints: values['etcd-servers']!.split(','),
    etcdTls,
    bindAddress: values['bind-address'],
    port,
    grpcPort,
    serviceClusterIPRange: values['service-cluster-ip-range'],
    nodePortRange: [Number(range![1]), Number(range![2])],
    tokens: values['token-auth-file'] ? readTokenFile(values['token-auth-file']) : undefined,
    enableBootstrapTokenAuth: values['enable-bootstrap-token-auth'],
    encryption,
    serviceAccountSigningKey: signingKey,
    serviceAccountPublicKeys: publicKeys,
    serviceAccountIssuer: values['service-account-issuer'],
    apiAudiences: values['api-audiences']?.split(',').map((a) => a.trim()).filter(Boolean),
    compactionIntervalMs: compaction,
    minRequestTimeoutSeconds: minRequestTimeout,
    tls,
    insecurePort,
    advertiseAddress: values['advertise-address'],
    disableAdmissionPlugins: disabledPlugins,
    allowedHostNames: values['allowed-host-names']!.split(',').map((n) => n.trim()).filter(Boolean),
    logger,
    kubeletClient,
  });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`apiserver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
