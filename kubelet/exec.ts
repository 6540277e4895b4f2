// `kubectl exec` at the kubelet: /exec/<ns>/<pod>/<container>?command=…&stdin=…, two transports.
// - WebSocket, subprotocol v5.channel.k8s.io (or v4), kubectl 1.30+: each binary message starts with
//   its channel: 0 stdin, 1 stdout, 2 stderr, 3 status, 255 close-stream. The status on channel 3
//   carries the exit code, then the socket is closed (kubectl waits for that).
// - SPDY/3.1 with v4.channel.k8s.io, kubectl 1.27–1.29 (and 1.30+ when the WebSocket fails): kubectl
//   opens streams typed error, stdin (with -i), stdout, stderr; we FIN them at the end, with the Status
//   JSON on the error stream when the exit code is not 0.
// The apiserver proxies here.
import type http from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger.ts';
import { queryBool } from '../lib/query-params.ts';
import type { SpdySession, SpdyStream } from '../lib/spdy.ts';
import { LABELS, type RuntimeService } from './cri/types.ts';
import { acceptSpdy, isWebSocket, negotiate, rejectUpgrade } from './spdy-upgrade.ts';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Over SPDY, v4 is what kubectl 1.27–1.33 all offer and what the Status-on-error-stream convention needs. */
const SPDY_PROTOCOLS = ['v4.channel.k8s.io'];
/** How long kubectl gets to open the streams it asked for in the query. */
const STREAMS_TIMEOUT_MS = 30_000;

export interface ExecDeps {
  runtime: RuntimeService;
  /** The in-process runtime, if it can stream (needed for stdin: kubectl exec -i). */
  streaming?: RuntimeService;
  pods(): Array<{ metadata: { name?: string; namespace?: string; uid?: string } }>;
  logger: Logger;
}

/** Where a command's input comes from and its output goes, whatever the transport. */
interface ExecIO {
  stdin?: Readable;
  out(stream: 'stdout' | 'stderr', data: Buffer): void;
}

const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);

function statusFor(code: number): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command, exit status ${code}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  });
}
const internalError = (err: unknown) => JSON.stringify({ metadata: {}, status: 'Failure', message: String((err as Error).message ?? err), reason: 'InternalError' });

/** The handler for an upgrade on /exec/<ns>/<pod>/<container> (server.ts routes to it). */
export function execHandler(deps: ExecDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  return async (req: http.IncomingMessage, socket: Duplex, head: Buffer, ns: string, podName: string, container: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const pod = deps.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === podName);
    if (!pod) return rejectUpgrade(socket, 404, `pod ${ns}/${podName} is not on this node`);
    const running = (await deps.runtime.listContainers({ labelSelector: { [LABELS.podUid]: pod.metadata.uid!, [LABELS.containerName]: container } }))
      .filter((c) => c.state === 'CONTAINER_RUNNING');
    if (!running.length) return rejectUpgrade(socket, 400, `container ${container} is not running`);
    const command = url.searchParams.getAll('command');
    if (!command.length) return rejectUpgrade(socket, 400, 'you must specify at least one command for the container');
    // PodExecOptions' bools as Kubernetes decodes them (the Python client sends `stdin=True`).
    const q = (name: string) => queryBool(url.searchParams, name) ?? false;
    const opts = { stdin: q('stdin'), stdout: q('stdout'), stderr: q('stderr'), tty: q('tty') };
    const log = (err: unknown) => deps.logger.warn({ err: String(err), pod: `${ns}/${podName}` }, 'exec failed');
    if (isWebSocket(req)) {
      wss.handleUpgrade(req, socket, head, (ws) => overWebSocket(ws, running[0].id, command, opts).catch((err) => {
        log(err);
        if (ws.readyState === ws.OPEN) { ws.send(frame(3, internalError(err))); ws.close(1000); }
      }));
      return;
    }
    const protocol = negotiate(req, SPDY_PROTOCOLS);
    if (!protocol) return rejectUpgrade(socket, 400, `exec needs a WebSocket (${PROTOCOLS.join(', ')}) or SPDY/3.1 with ${SPDY_PROTOCOLS.join(', ')}`);
    const session = await acceptSpdy(req, socket, head, protocol, (m) => deps.logger.warn({ pod: `${ns}/${podName}` }, m));
    await overSpdy(session, running[0].id, command, opts).catch(log);
  };

  async function execute(id: string, command: string[], tty: boolean, io: ExecIO): Promise<number> {
    if (io.stdin && deps.streaming?.execStream) {
      const es = await deps.streaming.execStream(id, command, { tty });
      io.stdin.pipe(es.stdin); // what arrived before the exec started waits in io.stdin
      for await (const chunk of es.output) io.out(chunk.stream, chunk.data);
      return es.exitCode;
    }
    const r = await deps.runtime.execSync(id, command);
    if (r.stdout.length) io.out('stdout', r.stdout);
    if (r.stderr.length) io.out('stderr', r.stderr);
    return r.exitCode;
  }

  async function overWebSocket(ws: WebSocket, id: string, command: string[], opts: { stdin: boolean; tty: boolean }): Promise<void> {
    let stdin: PassThrough | undefined;
    if (opts.stdin) {
      const input = stdin = new PassThrough();
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0) input.write(data.subarray(1));
        else if (data[0] === 255 && data[1] === 0) input.end();
      });
      ws.on('close', () => input.end());
    }
    const code = await execute(id, command, opts.tty, { stdin, out: (s, data) => ws.send(frame(s === 'stderr' ? 2 : 1, data)) });
    ws.send(frame(3, statusFor(code)));
    ws.close(1000);
  }

  async function overSpdy(session: SpdySession, id: string, command: string[], opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<void> {
    const wanted = ['error', ...(opts.stdin ? ['stdin'] : []), ...(opts.stdout ? ['stdout'] : []), ...(opts.stderr && !opts.tty ? ['stderr'] : [])];
    const streams = new Map<string, SpdyStream>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for streams ${wanted.join(', ')}`)), STREAMS_TIMEOUT_MS);
      session.on('close', () => { clearTimeout(timer); reject(new Error('the client went away before opening its streams')); });
      session.on('stream', (s) => {
        s.on('error', () => {});
        s.reply();
        streams.set(s.headers.streamtype ?? '', s);
        if (s.headers.streamtype !== 'stdin') s.resume(); // error and resize carry nothing we use
        if (wanted.every((t) => streams.has(t))) { clearTimeout(timer); resolve(); }
      });
    });
    const error = streams.get('error')!;
    try {
      const code = await execute(id, command, opts.tty, { stdin: streams.get('stdin'), out: (s, data) => streams.get(s)?.write(data) });
      if (code !== 0) error.write(statusFor(code));
    } catch (err) {
      error.write(internalError(err));
      throw err;
    } finally {
      for (const s of streams.values()) s.end();
    }
  }
}
