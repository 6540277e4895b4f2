// The supervisor process of one cluster (`kubemu up` starts it detached, first): a Supervisor
// (supervisor.ts) behind a small HTTP API on a Unix socket in the cluster's directory, mode 0600
// (whoever may talk to it may start processes). It writes <dir>/supervisor.json after every change,
// logs to <dir>/logs/supervisor.log, and reports each restart as an Event when the apiserver answers.
// SIGTERM (`kubemu down`, first) ends supervision and leaves the components running for down to stop.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLogger } from '../lib/logger.ts';
import { ROOT } from '../lib/root.ts';
import { joinPartitionCgroup } from './partition.ts';
import { adminTls } from './pki.ts';
import { ComponentEvents } from './supervisor-events.ts';
import { DEFAULT_BACKOFF, Supervisor, type ComponentSpec } from './supervisor.ts';
import { commandLineOf, readState, supervisorPath, writeFileAtomic, type SupervisorFile } from './state.ts';

const { values } = parseArgs({
  args: process.argv.slice(2), strict: true,
  options: {
    dir: { type: 'string' }, socket: { type: 'string' }, apiserver: { type: 'string' }, 'token-file': { type: 'string' }, 'log-level': { type: 'string', default: 'info' },
    'backoff-initial-ms': { type: 'string' }, 'backoff-max-ms': { type: 'string' }, 'backoff-reset-ms': { type: 'string' }, help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: supervisor --dir DIR --socket PATH [--apiserver URL] [--token-file F] [--log-level L]
  [--backoff-initial-ms ${DEFAULT_BACKOFF.initialMs}] [--backoff-max-ms ${DEFAULT_BACKOFF.maxMs}] [--backoff-reset-ms ${DEFAULT_BACKOFF.resetAfterMs}]
(kubemu up starts it: the parent of the cluster's components, restarting any that exits)
`);
  process.exit(0);
}
if (!values.dir || !values.socket) {
  process.stderr.write('supervisor: --dir and --socket are required\n');
  process.exit(2);
}
const dir = path.resolve(values.dir);
const socket = values.socket;
const logFile = path.join(dir, 'logs', 'supervisor.log');
fs.mkdirSync(path.dirname(logFile), { recursive: true });
const logger = createLogger('supervisor', { level: values['log-level'], destination: pino.destination({ dest: logFile, sync: true }) });
const num = (v: string | undefined, dflt: number) => (v === undefined ? dflt : Number(v));
const backoff = {
  initialMs: num(values['backoff-initial-ms'], DEFAULT_BACKOFF.initialMs), maxMs: num(values['backoff-max-ms'], DEFAULT_BACKOFF.maxMs),
  resetAfterMs: num(values['backoff-reset-ms'], DEFAULT_BACKOFF.resetAfterMs),
};

// Events go with the admin token of a --token-auth cluster (<dir>/tokens.csv), or a joined node's token (--token-file).
const events = new ComponentEvents({ apiserver: values.apiserver, tokenFile: values['token-file'] ?? path.join(dir, 'tokens.csv'), logger, tls: () => adminTls(dir) });
// The command line as /proc has it (process.argv lacks node's own flags, e.g. --import tsx): how others tell it is still this process.
const argv = commandLineOf(process.pid) ?? process.argv;
const writeStatus = () => writeFileAtomic(supervisorPath(dir), `${JSON.stringify({
  pid: process.pid, argv, socket, log: logFile, components: sup.status(),
} satisfies SupervisorFile, null, 2)}\n`);

const sup = new Supervisor({
  logger, backoff, cwd: ROOT, onChange: writeStatus,
  onRestart: (r) => events.restarted(r),
  // A partitioned node's restarted kubelet or kube-proxy goes back behind the partition (state.json says which nodes).
  onSpawn: (spec, pid) => {
    const s = readState(dir);
    if (spec.node && s?.partitioned?.includes(spec.node)) joinPartitionCgroup(s.name ?? 'kubemu', spec.node, [pid]);
  },
});

async function body(req: http.IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 1 << 20) throw Object.assign(new Error('request too large'), { status: 413 });
  }
  return text ? JSON.parse(text) : {};
}

/** POST /launch {name, argv, log, node?} · /hold {name} · /start {name} · /restart {name, graceMs?} → {pid}; GET /status. */
const server = http.createServer(async (req, res) => {
  const reply = (status: number, obj: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(obj)); };
  try {
    if (req.method === 'GET' && req.url === '/status') return reply(200, sup.status());
    if (req.method !== 'POST') return reply(405, { error: `${req.method} ${req.url}: not supported` });
    const b = await body(req);
    if (typeof b.name !== 'string') return reply(400, { error: 'want a component name' });
    switch (req.url) {
      case '/launch': {
        if (!Array.isArray(b.argv) || !b.argv.length || !b.argv.every((a: unknown) => typeof a === 'string') || typeof b.log !== 'string') return reply(400, { error: 'want argv (strings) and log' });
        const spec: ComponentSpec = { name: b.name, argv: b.argv, log: b.log, ...(typeof b.node === 'string' ? { node: b.node } : {}) };
        return reply(200, { pid: sup.launch(spec) });
      }
      case '/hold': sup.hold(b.name); return reply(200, {});
      case '/start': return reply(200, { pid: await sup.start(b.name) });
      case '/restart': return reply(200, { pid: await sup.restart(b.name, typeof b.graceMs === 'number' ? b.graceMs : undefined) });
      default: return reply(404, { error: `no ${req.url}` });
    }
  } catch (err) {
    const e = err as Error & { status?: number; code?: string };
    reply(e.status ?? (e.code === 'NotFound' ? 404 : e instanceof SyntaxError ? 400 : 409), { error: e.message });
  }
});

function shutdown(sig: string): void {
  logger.info({ signal: sig }, 'stopping supervision; the components keep running');
  sup.close();
  events.close();
  server.close();
  try { fs.rmSync(socket, { force: true }); } catch { /* gone */ }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

fs.rmSync(socket, { force: true }); // left by a supervisor that was killed
server.listen(socket, () => {
  fs.chmodSync(socket, 0o600);
  writeStatus();
  logger.info({ socket, backoff }, 'supervising');
});
