// kubemu scheduler: flags → client → (leader election) → Scheduler. Serves /healthz, /readyz
// and /metrics on --port. Runs until SIGTERM/SIGINT.
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createApiClient, readKubeconfig, type Transport } from '../client/index.ts';
import { LeaderElector } from '../client/leader-election.ts';
import { createLogger } from '../lib/logger.ts';
import { Scheduler } from './scheduler.ts';

const USAGE = `usage: scheduler (--server URL|HOST:PORT | --kubeconfig FILE) [--transport grpc|http] [--token T]
                 [--scheduler-name default-scheduler] [--leader-elect] [--leader-elect-lease-duration 15] [--port 10259] [--log-level info]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' }, kubeconfig: { type: 'string' }, transport: { type: 'string', default: 'grpc' },
      token: { type: 'string' }, 'scheduler-name': { type: 'string', default: 'default-scheduler' },
      'leader-elect': { type: 'boolean', default: false }, 'leader-elect-lease-duration': { type: 'string', default: '15' }, port: { type: 'string', default: '10259' },
      'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const transport = values.transport as Transport;
  let server = values.server;
  let token = values.token;
  if (!server && values.kubeconfig) ({ server, token = token } = readKubeconfig(values.kubeconfig));
  const errors: string[] = [];
  if (!server) errors.push('--server or --kubeconfig is required');
  if (transport !== 'grpc' && transport !== 'http') errors.push(`--transport: want grpc or http, got ${transport}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`--port: not a port: ${values.port}`);
  const leaseSeconds = Number(values['leader-elect-lease-duration']);
  if (!(leaseSeconds > 0)) errors.push(`--leader-elect-lease-duration: want a positive number of seconds, got ${values['leader-elect-lease-duration']}`);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }

  const logger = createLogger('scheduler', { level: values['log-level'] });
  const client = createApiClient({ transport, server: server!, token });
  const scheduler = new Scheduler({ client, schedulerName: values['scheduler-name'], logger });
  const stop = new AbortController();
  let leading = !values['leader-elect'];

  const health = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      const a = scheduler.metrics.attempts;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(
        `# TYPE scheduler_schedule_attempts_total counter\n` +
        Object.entries(a).map(([result, n]) => `scheduler_schedule_attempts_total{result="${result}"} ${n}`).join('\n') + '\n' +
        `# TYPE leader_election_master_status gauge\nleader_election_master_status ${leading ? 1 : 0}\n`);
      return;
    }
    res.writeHead(req.url === '/healthz' || req.url === '/readyz' || req.url === '/livez' ? 200 : 404, { 'Content-Type': 'text/plain' }).end('ok');
  });
  health.listen(port, '127.0.0.1');

  const shutdown = (signal: string) => { logger.info({ signal }, 'shutting down'); stop.abort(); health.close(); };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  if (values['leader-elect']) {
    const elector = new LeaderElector({
      client, namespace: 'kube-system', name: values['scheduler-name']!.replace('default-scheduler', 'kube-scheduler'),
      identity: `${os.hostname()}_${process.pid}`, logger,
      leaseDurationSeconds: leaseSeconds, renewDeadlineMs: leaseSeconds * 1000 * 2 / 3, retryPeriodMs: Math.max(200, leaseSeconds * 1000 / 7.5),
      onStartedLeading: (signal) => { leading = true; const s = AbortSignal.any([signal, stop.signal]); return scheduler.run(s); },
      onStoppedLeading: () => { leading = false; logger.error('lost the leader lease: exiting so a fresh process campaigns again'); process.exit(1); },
    });
    await elector.run(stop.signal);
  } else {
    await scheduler.run(stop.signal);
  }
  await client.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
