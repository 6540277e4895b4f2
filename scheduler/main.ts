// kubemu scheduler: flags → client → (leader election) → Scheduler. Serves /healthz, /readyz
// and /metrics on --port. Runs until SIGTERM/SIGINT.
import { createApiClient } from '../client/index.ts';
import { LeaderElector, leaderIdentity } from '../client/leader-election.ts';
import { closeServer } from '../lib/close-server.ts';
import { parseFlags, API_FLAGS, API_USAGE, apiConnection, portFlag, serveHealth, stopOnSignals } from '../lib/component.ts';
import { createLogger } from '../lib/logger.ts';
import { counterAtScrape, leaderGauge, Registry } from '../lib/metrics.ts';
import { Scheduler } from './scheduler.ts';

const USAGE = `usage: scheduler ${API_USAGE}
                 [--scheduler-name default-scheduler] [--leader-elect] [--leader-elect-lease-duration 15] [--port 10259] [--log-level info]`;

async function main(): Promise<void> {
  const { values } = parseFlags({
      ...API_FLAGS, 'scheduler-name': { type: 'string', default: 'default-scheduler' },
      'leader-elect': { type: 'boolean', default: false }, 'leader-elect-lease-duration': { type: 'string', default: '15' }, port: { type: 'string', default: '10259' },
      'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
  }, USAGE);
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  const api = apiConnection(values, errors);
  const port = portFlag('port', values.port, errors);
  const leaseSeconds = Number(values['leader-elect-lease-duration']);
  if (!(leaseSeconds > 0)) errors.push(`--leader-elect-lease-duration: want a positive number of seconds, got ${values['leader-elect-lease-duration']}`);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }

  const logger = createLogger('scheduler', { level: values['log-level'] });
  const client = createApiClient({ ...api, userAgent: 'kube-scheduler/kubemu' });
  const scheduler = new Scheduler({ client, schedulerName: values['scheduler-name'], logger });
  let leading = !values['leader-elect'];
  const registry = new Registry();
  counterAtScrape(registry, {
    name: 'scheduler_schedule_attempts_total', help: 'Scheduling attempts by result.', labelNames: ['result'],
    read: () => Object.entries(scheduler.metrics.attempts).map(([result, n]) => [{ result }, n] as const),
  });
  leaderGauge(registry, () => leading);
  const health = serveHealth({ port, logger, metrics: () => registry.metrics() });
  const stop = stopOnSignals(logger, () => void closeServer(health));

  if (values['leader-elect']) {
    const elector = new LeaderElector({
      client, namespace: 'kube-system', name: values['scheduler-name']!.replace('default-scheduler', 'kube-scheduler'),
      identity: leaderIdentity(), logger,
      leaseDurationSeconds: leaseSeconds, renewDeadlineMs: leaseSeconds * 1000 * 2 / 3, retryPeriodMs: Math.max(200, leaseSeconds * 1000 / 7.5),
      onStartedLeading: (signal) => { leading = true; const s = AbortSignal.any([signal, stop.signal]); return scheduler.run(s); },
      onStoppedLeading: () => { leading = false; if (stop.signal.aborted) return; logger.error('lost the leader lease: exiting so a fresh process campaigns again'); process.exit(1); },
    });
    await elector.run(stop.signal);
  } else {
    await scheduler.run(stop.signal);
  }
  await client.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
