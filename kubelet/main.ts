// kubemu kubelet: flags → the CRI runtime (Docker or fake) served on a unix socket in-process
// and reached over gRPC → Kubelet. Serves /healthz and /pods on --port. Runs until SIGTERM/SIGINT.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { createApiClient, readKubeconfig, type Transport } from '../client/index.ts';
import { goBool, goBoolArgs, parseFlags, readTokenFile, tlsFlags } from '../lib/component.ts';
import { parseDuration } from '../lib/duration.ts';
import { DEFAULT_WEBHOOK_CACHE_TTL_MS, kubeletAuthenticator, tokenReviewer } from './auth.ts';
import { createLogger } from '../lib/logger.ts';
import { CriClient, withCallLogging } from './cri/client.ts';
import { CriServer } from './cri/server.ts';
import { DockerRuntime } from './cri/docker/runtime.ts';
import { FakeRuntime } from './cri/fake/runtime.ts';
import { Kubelet } from './kubelet.ts';
import { bootstrapServingCertificate, scheduleClientRotation } from './tls-bootstrap.ts';
import { createKubeletServer, type KubeletTLS } from './server.ts';

const USAGE = `usage: kubelet (--server URL|HOST:PORT | --kubeconfig FILE) [--certificate-authority CA --client-certificate CRT --client-key KEY] --node-name NAME [--node-ip 127.0.0.1]
               [--transport grpc|http] [--token T] [--runtime docker|fake] [--pod-cidr CIDR] [--fake-pull-delay-ms 0] [--fake-fail-images '*missing*'] (fake runtime) [--cri-socket PATH] [--root-dir DIR]
               [--network kubemu] [--cpu N] [--memory 4Gi] [--max-pods 110] [--port 10250]
               [--backoff-max-seconds 300] [--node-lease-duration-seconds 40] [--allow-remote-pull] [--log-level info]
               [--cluster-dns IP[,IP]] [--cluster-domain cluster.local] [--remove-pods-on-exit]
               [--tls-cert-file PEM --tls-private-key-file PEM | --rotate-server-certificates --cert-dir DIR] [--rotate-certificates] [--client-ca-file PEM] [--authentication-token-webhook]
               [--authentication-token-webhook-cache-ttl 2m0s] [--anonymous-auth=false]`;

// The kubelet API's TLS and authentication flags, named as the real kubelet's.
const API_AUTH_FLAGS = {
  'tls-cert-file': { type: 'string' }, 'tls-private-key-file': { type: 'string' }, 'client-ca-file': { type: 'string' },
  'authentication-token-webhook': { type: 'string' }, 'authentication-token-webhook-cache-ttl': { type: 'string', default: '2m0s' },
  'anonymous-auth': { type: 'string' },
} as const;
/** Go-style booleans (`--anonymous-auth=false`, as the real kubelet is told). */
const GO_BOOLS = ['authentication-token-webhook', 'anonymous-auth'];

async function main(): Promise<void> {
  const { values } = parseFlags({
      server: { type: 'string' }, kubeconfig: { type: 'string' }, transport: { type: 'string', default: 'grpc' }, token: { type: 'string' }, 'token-file': { type: 'string' },
      'certificate-authority': { type: 'string' }, 'client-certificate': { type: 'string' }, 'client-key': { type: 'string' },
      'node-name': { type: 'string' }, 'node-ip': { type: 'string', default: '127.0.0.1' }, runtime: { type: 'string', default: 'docker' }, 'pod-cidr': { type: 'string' },
      'fake-pull-delay-ms': { type: 'string', default: '0' }, 'fake-fail-images': { type: 'string', default: '*missing*' },
      'cri-socket': { type: 'string' }, 'root-dir': { type: 'string' }, network: { type: 'string', default: 'kubemu' },
      cpu: { type: 'string' }, memory: { type: 'string' }, 'max-pods': { type: 'string', default: '110' }, port: { type: 'string', default: '10250' },
      'backoff-max-seconds': { type: 'string', default: '300' }, 'node-lease-duration-seconds': { type: 'string', default: '40' }, 'allow-remote-pull': { type: 'boolean', default: false }, 'cluster-dns': { type: 'string' }, 'cluster-domain': { type: 'string', default: 'cluster.local' }, 'remove-pods-on-exit': { type: 'boolean', default: false }, 'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
      ...API_AUTH_FLAGS,
      'rotate-server-certificates': { type: 'boolean', default: false }, 'cert-dir': { type: 'string' }, 'rotate-certificates': { type: 'boolean', default: false },
  }, USAGE, goBoolArgs(process.argv.slice(2), GO_BOOLS));
  if (values.help) { console.log(USAGE); return; }
  let server = values.server;
  let token = values.token ?? (values['token-file'] ? readTokenFile(values['token-file']) : undefined);
  const errors: string[] = [];
  let tls = tlsFlags(values, errors);
  if (!server && values.kubeconfig) ({ server, token = token, tls = tls } = readKubeconfig(values.kubeconfig));
  if (!server) errors.push('--server or --kubeconfig is required');
  if (!values['node-name']) errors.push('--node-name is required');
  if (!['docker', 'fake'].includes(values.runtime!)) errors.push(`--runtime: want docker or fake, got ${values.runtime}`);
  if (!['grpc', 'http'].includes(values.transport!)) errors.push(`--transport: want grpc or http, got ${values.transport}`);
  const port = Number(values.port);
  const leaseSeconds = Number(values['node-lease-duration-seconds']);
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1) errors.push(`--node-lease-duration-seconds: want a whole number ≥ 1, got ${values['node-lease-duration-seconds']}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`--port: not a port: ${values.port}`);
  const pullDelayMs = Number(values['fake-pull-delay-ms']);
  if (!Number.isInteger(pullDelayMs) || pullDelayMs < 0) errors.push(`--fake-pull-delay-ms: want a whole number of milliseconds, got ${values['fake-pull-delay-ms']}`);
  const clusterDNS = values['cluster-dns'] ? values['cluster-dns'].split(',').map((s) => s.trim()).filter(Boolean) : [];
  for (const ip of clusterDNS) if (net.isIPv4(ip) === false) errors.push(`--cluster-dns: not an IPv4 address: ${ip}`);
  const apiAuth = apiAuthFlags(values, errors);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }

  const nodeName = values['node-name']!;
  const logger = createLogger('kubelet', { level: values['log-level'] }).child({ node: nodeName });
  const rootDir = path.resolve(values['root-dir'] ?? path.join('.kubemu', 'kubelet', nodeName));
  fs.mkdirSync(rootDir, { recursive: true });

  // The runtime sits behind the CRI gRPC API on a unix socket, as a real kubelet's does.
  let criServer: CriServer | undefined;
  let streaming: DockerRuntime | FakeRuntime | undefined;
  const socketPath = values['cri-socket'] ?? path.join(rootDir, 'cri.sock');
  if (!values['cri-socket']) {
    const runtime = values.runtime === 'docker' ? new DockerRuntime({ nodeName, network: values.network }) : new FakeRuntime({ podCIDR: values['pod-cidr'], pullDelayMs, failImages: values['fake-fail-images']!.split(',').map((g) => g.trim()).filter(Boolean) });
    streaming = runtime;
    criServer = new CriServer({ socketPath, runtime, images: runtime, logger: logger.child({ part: 'cri' }) });
    await criServer.start();
  }
  // Every CRI call is logged at debug level with its duration (what the kubelet asked the runtime).
  const cri = withCallLogging(new CriClient({ socketPath }), logger.child({ part: 'cri-client' }));
  const client = createApiClient({ transport: values.transport as Transport, server: server!, token, tls, userAgent: 'kubelet/kubemu' });
  const kubelet = new Kubelet({
    client, runtime: cri, images: cri, rootDir, logger, nodeName, nodeIP: values['node-ip']!,
    cpu: values.cpu, memory: values.memory, maxPods: Number(values['max-pods']), kubeletPort: port,
    runtimeVersion: values.runtime === 'docker' ? 'docker://kubemu' : 'fake://kubemu',
    // The fake runtime "pulls" in memory: no registry is ever contacted, so any image name will do.
    allowRemotePull: values['allow-remote-pull'] || values.runtime === 'fake', leaseDurationSeconds: leaseSeconds, simulateNetwork: values.runtime === 'fake',
    clusterDNS: clusterDNS.length ? { servers: clusterDNS, domain: values['cluster-domain']! } : undefined,
    // As the kubelet: renew the lease every quarter of its duration; post status as often (at most every 10 s).
    statusIntervalMs: Math.min(10_000, leaseSeconds * 250),
    backoffMaxMs: Number(values['backoff-max-seconds']) * 1000, backoffInitialMs: Math.min(10_000, Number(values['backoff-max-seconds']) * 1000),
  });
  const stop = new AbortController();
  const auth = apiAuth.tls ? {
    nodeName,
    authenticator: kubeletAuthenticator({ x509: !!apiAuth.tls.clientCA, reviewToken: apiAuth.webhook ? tokenReviewer(client) : undefined, anonymous: apiAuth.anonymous, cacheTTLMs: apiAuth.cacheTTLMs }),
  } : undefined;
  if (!apiAuth.tls) logger.warn({ port }, 'no --tls-cert-file: the kubelet API is plain HTTP without authentication — anyone who can reach this port can exec into its pods');
  else if (apiAuth.anonymous) logger.warn('--anonymous-auth: requests without credentials are served as system:anonymous');
  // --rotate-certificates: the renewed certificate is used after a clean restart (the supervisor starts the kubelet
  // again; pods keep running) — where the real kubelet swaps it in place.
  if (values['rotate-certificates']) scheduleClientRotation({ client, nodeName, dir: values['cert-dir'] ?? '', logger, signal: stop.signal, onRenewed: () => process.kill(process.pid, 'SIGTERM') });
  const serveApi = (tls?: KubeletTLS) => {
    const s = createKubeletServer({ runtime: cri, streaming, pods: () => kubelet.podList(), logger, simulateNetwork: values.runtime === 'fake', tls, auth });
    s.listen(port, values['node-ip']);
    return s;
  };
  let health: ReturnType<typeof serveApi> | undefined;
  if (values['rotate-server-certificates']) {
    // serverTLSBootstrap: once the Node is registered (the approver checks the names against it), ask for a
    // kubelet-serving certificate as the node itself, then serve the API with it.
    void (async () => {
      for (;;) {
        if (await client.get({ group: '', resource: 'nodes' }, undefined, nodeName).then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const c = await bootstrapServingCertificate({ client, nodeName, dir: values['cert-dir']!, dnsNames: [nodeName], ipAddresses: [values['node-ip']!], logger });
      logger.info({ file: c.file, notAfter: c.notAfter.toISOString(), reused: c.reused }, 'serving certificate ready: the kubelet API is served with it');
      if (!stop.signal.aborted) health = serveApi({ ...apiAuth.tls!, cert: c.cert, key: c.key });
    })().catch((err) => { logger.error({ err: String(err) }, 'no serving certificate: the kubelet API is not served'); process.exit(1); });
  } else {
    health = serveApi(apiAuth.tls);
  }
  // By default pods outlive the kubelet process and a restarted kubelet adopts them. With
  // --remove-pods-on-exit (docker compose, where the kubelet's container is the node) they go with it,
  // so `docker compose down` leaves none behind; `restart` brings them back in new containers.
  const removePods = values['remove-pods-on-exit'];
  const shutdown = (signal: string) => {
    logger.info({ signal }, removePods ? 'shutting down: removing this node\'s pod containers' : 'shutting down (pods keep running; a restarted kubelet adopts them)');
    stop.abort();
    health?.close();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await kubelet.run(stop.signal);
  if (removePods) {
    const n = await kubelet.removeAllPods(2).catch((err) => { logger.error({ err: String(err) }, 'removing pod containers failed'); return 0; });
    logger.info({ pods: n }, 'pod containers removed');
  }
  cri.close();
  await criServer?.stop();
  await client.close();
}

/** --tls-cert-file and the authentication flags, checked. Without a certificate there is no authentication (and the flags that need it are refused). */
function apiAuthFlags(values: { [K in keyof typeof API_AUTH_FLAGS]?: string } & { 'rotate-server-certificates'?: boolean; 'cert-dir'?: string }, errors: string[]): { tls?: KubeletTLS; webhook: boolean; anonymous: boolean; cacheTTLMs: number } {
  const webhook = goBool('authentication-token-webhook', values['authentication-token-webhook'], errors) ?? false;
  const anonymousFlag = goBool('anonymous-auth', values['anonymous-auth'], errors);
  const cacheTTLMs = parseDuration(values['authentication-token-webhook-cache-ttl'] ?? '') ?? DEFAULT_WEBHOOK_CACHE_TTL_MS;
  if (parseDuration(values['authentication-token-webhook-cache-ttl'] ?? '') === undefined) errors.push(`--authentication-token-webhook-cache-ttl: not a duration: ${values['authentication-token-webhook-cache-ttl']}`);
  const certFile = values['tls-cert-file'];
  const keyFile = values['tls-private-key-file'];
  const rotate = !!values['rotate-server-certificates'];
  if (rotate && (certFile || keyFile)) errors.push('--rotate-server-certificates asks the cluster for the serving certificate: leave out --tls-cert-file and --tls-private-key-file');
  if (rotate && !values['cert-dir']) errors.push('--rotate-server-certificates needs --cert-dir (where the serving certificate is kept)');
  if (!certFile && !rotate) {
    if (keyFile) errors.push('--tls-private-key-file needs --tls-cert-file');
    for (const f of ['client-ca-file', 'authentication-token-webhook', 'anonymous-auth'] as const) {
      if (values[f] !== undefined) errors.push(`--${f} needs --tls-cert-file: without it the kubelet API is plain HTTP and authenticates nobody`);
    }
    return { webhook: false, anonymous: true, cacheTTLMs };
  }
  if (!keyFile && !rotate) errors.push('--tls-cert-file needs --tls-private-key-file');
  const read = (flag: string, file: string | undefined) => {
    if (!file) return undefined;
    try { return fs.readFileSync(file, 'utf8'); } catch (err) { errors.push(`--${flag}: ${(err as Error).message}`); return undefined; }
  };
  const tls = { cert: read('tls-cert-file', certFile) ?? '', key: read('tls-private-key-file', keyFile) ?? '', clientCA: read('client-ca-file', values['client-ca-file']) };
  // kubemu's secure default: anonymous off (the real kubelet's flag defaults to true; kubeadm and kind turn it off).
  const anonymous = anonymousFlag ?? false;
  if (!tls.clientCA && !webhook && !anonymous) errors.push('no authentication method configured: give --client-ca-file, --authentication-token-webhook or --anonymous-auth');
  return { tls, webhook, anonymous, cacheTTLMs };
}

main().catch((err) => { console.error(err); process.exit(1); });
