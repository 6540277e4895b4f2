// kubemu controller-manager: flags → client → (leader election) → ControllerManager. Serves
// /healthz, /readyz and /metrics on --port. Runs until SIGTERM/SIGINT.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createApiClient } from '../client/index.ts';
import { LeaderElector, leaderIdentity } from '../client/leader-election.ts';
import { closeServer } from '../lib/close-server.ts';
import { parseFlags, API_FLAGS, API_USAGE, apiConnection, portFlag, serveHealth, stopOnSignals } from '../lib/component.ts';
import { createLogger } from '../lib/logger.ts';
import { gaugeAtScrape, leaderGauge, Registry } from '../lib/metrics.ts';
import { DEFAULT_LOAD_BALANCER_POOL, parsePool } from './controllers/service-lb.ts';
import { ControllerManager } from './manager.ts';
import { parseDuration } from '../lib/duration.ts';

const USAGE = `usage: controller-manager ${API_USAGE}
         [--leader-elect] [--leader-elect-lease-duration 15] [--controllers a,b,…] [--port 10257] [--log-level info]
         [--node-monitor-grace-period 40] [--node-monitor-period 5] [--default-toleration-seconds 300]
         [--cronjob-check-period 10]          (periods in seconds)
         [--load-balancer-pool 127.0.255.1-127.0.255.254]   (addresses for Services of type LoadBalancer)
         [--cluster-signing-cert-file PEM --cluster-signing-key-file PEM] [--cluster-signing-duration 8760h]
                                              (the CA csrsigning signs CSRs with; without both it does not run)
         [--root-ca-file PEM]   (the CA published as kube-root-ca.crt in every namespace and put in legacy token Secrets)
         [--service-account-private-key-file PEM]   (signs the legacy tokens of kubernetes.io/service-account-token Secrets)`;

/** kube-controller-manager's readCA: the file must hold at least one PEM certificate. */
function readRootCA(file: string, errors: string[]): string | undefined {
  try {
    const pem = fs.readFileSync(file, 'utf8');
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) throw new Error('no PEM certificate in it');
    new crypto.X509Certificate(pem);
    return pem;
  } catch (err) {
    errors.push(`--root-ca-file: error parsing root-ca-file at ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function readKey(file: string, errors: string[]): crypto.KeyObject | undefined {
  try { return crypto.createPrivateKey(fs.readFileSync(file)); } catch (err) {
    errors.push(`--service-account-private-key-file: error reading key file ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function seconds(errors: string[], flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) errors.push(`--${flag}: want a positive number of seconds, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseFlags({
      ...API_FLAGS, 'leader-elect': { type: 'boolean', default: false },
      'leader-elect-lease-duration': { type: 'string', default: '15' }, controllers: { type: 'string' },
      port: { type: 'string', default: '10257' }, 'log-level': { type: 'string', default: 'info' },
      'node-monitor-grace-period': { type: 'string', default: '40' }, 'node-monitor-period': { type: 'string', default: '5' },
      'default-toleration-seconds': { type: 'string', default: '300' }, 'cronjob-check-period': { type: 'string', default: '10' },
      'load-balancer-pool': { type: 'string', default: DEFAULT_LOAD_BALANCER_POOL },
      'cluster-signing-cert-file': { type: 'string' }, 'cluster-signing-key-file': { type: 'string' },
      'cluster-signing-duration': { type: 'string', default: '8760h' },
      'root-ca-file': { type: 'string' },
      'service-account-private-key-file': { type: 'string' },
      help: { type: 'boolean' },
  }, USAGE);
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  const api = apiConnection(values, errors);
  const port = portFlag('port', values.port, errors);
  const timings = {
    nodeMonitorGracePeriodMs: seconds(errors, 'node-monitor-grace-period', values['node-monitor-grace-period']) * 1000,
    nodeMonitorPeriodMs: seconds(errors, 'node-monitor-period', values['node-monitor-period']) * 1000,
    defaultTolerationSeconds: Number(values['default-toleration-seconds']),
    cronJobCheckPeriodMs: seconds(errors, 'cronjob-check-period', values['cronjob-check-period']) * 1000,
    loadBalancerPool: values['load-balancer-pool'],
    clusterSigningCertFile: values['cluster-signing-cert-file'],
    clusterSigningKeyFile: values['cluster-signing-key-file'],
    clusterSigningDurationSeconds: (parseDuration(values['cluster-signing-duration']!) ?? NaN) / 1000,
    rootCA: values['root-ca-file'] ? readRootCA(values['root-ca-file'], errors) : undefined,
    serviceAccountPrivateKey: values['service-account-private-key-file'] ? readKey(values['service-account-private-key-file'], errors) : undefined,
  };
  if (!(timings.clusterSigningDurationSeconds > 0)) errors.push(`--cluster-signing-duration: not a positive duration: ${values['cluster-signing-duration']}`);
  if (!timings.clusterSigningCertFile !== !timings.clusterSigningKeyFile) errors.push('--cluster-signing-cert-file and --cluster-signing-key-file go together');
  try { parsePool(timings.loadBalancerPool!); } catch (err) { errors.push(`--load-balancer-pool: ${(err as Error).message}`); }
  if (!Number.isInteger(timings.defaultTolerationSeconds) || timings.defaultTolerationSeconds < 0) errors.push(`--default-toleration-seconds: want a whole number ≥ 0, got ${values['default-toleration-seconds']}`);
  const leaseSeconds = seconds(errors, 'leader-elect-lease-duration', values['leader-elect-lease-duration']);
  const controllers = values.controllers?.split(',').map((s) => s.trim()).filter(Boolean);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }

  const logger = createLogger('controller-manager', { level: values['log-level'] });
  const client = createApiClient({ ...api, userAgent: 'kube-controller-manager/kubemu' });
  let manager: ControllerManager;
  try { manager = new ControllerManager({ client, logger, controllers, timings }); } catch (err) { console.error((err as Error).message); process.exit(2); }
  let leading = !values['leader-elect'];
  const registry = new Registry();
  leaderGauge(registry, () => leading);
  gaugeAtScrape(registry, {
    name: 'workqueue_depth', help: 'Keys waiting in each controller\'s work queue.', labelNames: ['name'],
    read: () => manager.controllers.map((c) => [{ name: c.name }, c.queue.len()] as const),
  });
  const health = serveHealth({ port, logger, metrics: () => registry.metrics() });
  const stop = stopOnSignals(logger, () => void closeServer(health));

  if (values['leader-elect']) {
    const elector = new LeaderElector({
      client, namespace: 'kube-system', name: 'kube-controller-manager', identity: leaderIdentity(), logger,
      leaseDurationSeconds: leaseSeconds, renewDeadlineMs: leaseSeconds * 1000 * 2 / 3, retryPeriodMs: Math.max(200, leaseSeconds * 1000 / 7.5),
      onStartedLeading: (signal) => { leading = true; return manager.run(AbortSignal.any([signal, stop.signal])); },
      onStoppedLeading: () => { leading = false; if (stop.signal.aborted) return; logger.error('lost the leader lease: exiting so a fresh process campaigns again'); process.exit(1); },
    });
    await elector.run(stop.signal);
  } else {
    await manager.run(stop.signal);
  }
  await client.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
