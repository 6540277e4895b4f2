// `kubectl exec` and `kubectl attach` at the kubelet (Kubernetes' remotecommand): /exec/<ns>/<pod>/<container>?command=…
// and /attach/<ns>/<pod>/<container>, with stdin, stdout, stderr and tty in the query. Two transports:
// - WebSocket, subprotocol v5.channel.k8s.io (or v4), kubectl 1.30+: each binary message starts with its channel:
//   0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize (JSON {"Width","Height"}), 255 close-stream. The status on
//   channel 3 carries the exit code, then the close frame and the connection closed (kubectl waits for that).
// - SPDY/3.1 with v4.channel.k8s.io, kubectl 1.27–1.29 (and 1.30+ when the WebSocket fails): kubectl opens streams
//   typed error, stdin (with -i), stdout, stderr (not with a TTY) and resize (with a TTY: a run of JSON sizes); we
//   FIN them at the end, with the Status JSON on the error stream when the exit code is not 0.
// exec runs a new process; attach joins the container's own stdio (its stdin only if the spec has stdin: true).
// The apiserver proxies here.
import type http from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger.ts';
import { queryBool } from '../lib/query-params.ts';
import type { SpdySession, SpdyStream } from '../lib/spdy.ts';
import { LABELS, type ExecStream, type RuntimeService, type TerminalSize } from './cri/types.ts';
import { acceptSpdy, isWebSocket, negotiate, rejectUpgrade } from './spdy-upgrade.ts';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Over SPDY, v4 is what kubectl 1.27–1.33 all offer and what the Status-on-error-stream convention needs. */
const SPDY_PROTOCOLS = ['v4.channel.k8s.io'];
/** How long kubectl gets to open the streams it asked for in the query. */
const STREAMS_TIMEOUT_MS = 30_000;

export interface RemoteCommandDeps {
  runtime: RuntimeService;
  /** The in-process runtime, if it can stream (needed for stdin, a TTY and attach). */
  streaming?: RuntimeService;
  pods(): Array<{ metadata: { name?: string; namespace?: string; uid?: string } }>;
  logger: Logger;
}

export type RemoteCommand = 'exec' | 'attach';

/** The terminal sizes kubectl sends, kept until the process exists (the first arrives before it starts). */
class TerminalSizes {
  private last?: TerminalSize;
  private apply?: (s: TerminalSize) => void;
  private first?: () => void;
  push(s: TerminalSize): void { this.last = s; this.first?.(); this.apply?.(s); }
  follow(apply: (s: TerminalSize) => void): void { this.apply = apply; if (this.last) apply(this.last); }
  /** The size kubectl sent first (it sends one right away), or undefined if none comes within `ms`. */
  async initial(ms: number): Promise<TerminalSize | undefined> {
    if (!this.last) await new Promise<void>((resolve) => { this.first = resolve; setTimeout(resolve, ms).unref(); });
    return this.last;
  }
}
/** How long a TTY exec waits for kubectl's first terminal size, to create the process with it (Docker applies it just
 *  after the start, as a resize: a process that asks at once may still see 0x0, as with `docker exec -it`). */
const INITIAL_SIZE_WAIT_MS = 1000;

/** Where a command's input comes from and its output goes, whatever the transport. */
interface CommandIO {
  stdin?: Readable;
  out(stream: 'stdout' | 'stderr', data: Buffer): void;
  sizes: TerminalSizes;
  /** Calls back once the client has gone (or the session ended). */
  onGone(fn: () => void): void;
}

const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);

/** One resize message as kubectl encodes it: {"Width":80,"Height":24}. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(text);
    const width = Number(v?.Width), height = Number(v?.Height);
    return Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 ? { width, height } : undefined;
  } catch { return undefined; }
}

function statusFor(code: number): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command, exit status ${code}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  });
}
const internalError = (err: unknown) => JSON.stringify({ metadata: {}, status: 'Failure', message: String((err as Error).message ?? err), reason: 'InternalError' });

/** The handler for an upgrade on /exec/… or /attach/… (server.ts routes to it). */
export function remoteCommandHandler(deps: RemoteCommandDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  return async (kind: RemoteCommand, req: http.IncomingMessage, socket: Duplex, head: Buffer, ns: string, podName: string, container: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const pod = deps.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === podName);
    if (!pod) return rejectUpgrade(socket, 404, `pod ${ns}/${podName} is not on this node`);
    const running = (await deps.runtime.listContainers({ labelSelector: { [LABELS.podUid]: pod.metadata.uid!, [LABELS.containerName]: container } }))
      .filter((c) => c.state === 'CONTAINER_RUNNING');
    if (!running.length) return rejectUpgrade(socket, 400, `container ${container} is not running`);
    const command = url.searchParams.getAll('command');
    if (kind === 'exec' && !command.length) return rejectUpgrade(socket, 400, 'you must specify at least one command for the container');
    if (kind === 'attach' && !deps.streaming?.attachStream) return rejectUpgrade(socket, 400, 'this node\'s runtime cannot attach to containers');
    // PodExecOptions' and PodAttachOptions' bools as Kubernetes decodes them (the Python client sends `stdin=True`).
    const q = (name: string) => queryBool(url.searchParams, name) ?? false;
    const opts = { stdin: q('stdin'), stdout: q('stdout'), stderr: q('stderr'), tty: q('tty') };
    const id = running[0].id;
    const run = (io: CommandIO) => (kind === 'attach' ? attach(id, opts.stdin, io) : execute(id, command, opts.tty, io));
    const log = (err: unknown) => deps.logger.warn({ err: String(err), pod: `${ns}/${podName}`, kind }, `${kind} failed`);
    if (isWebSocket(req)) {
      // As Kubernetes' wsstream (golang.org/x/net/websocket's Close): the close frame, then the connection closed at
      // once, without waiting for the client's reply (a client that never answers would otherwise get its exit code
      // only after the close timeout, or not at all).
      const hangUp = (ws: WebSocket) => { ws.close(1000); socket.end(); };
      wss.handleUpgrade(req, socket, head, (ws) => overWebSocket(ws, opts, run, hangUp).catch((err) => {
        log(err);
        if (ws.readyState === ws.OPEN) { ws.send(frame(3, internalError(err))); hangUp(ws); }
      }));
      return;
    }
    const protocol = negotiate(req, SPDY_PROTOCOLS);
    if (!protocol) return rejectUpgrade(socket, 400, `${kind} needs a WebSocket (${PROTOCOLS.join(', ')}) or SPDY/3.1 with ${SPDY_PROTOCOLS.join(', ')}`);
    const session = await acceptSpdy(req, socket, head, protocol, (m) => deps.logger.warn({ pod: `${ns}/${podName}` }, m));
    await overSpdy(session, opts, run).catch(log);
  };

  /** Pump a streaming session: input in, output out, sizes applied; resolves with the exit code. */
  async function pump(es: ExecStream, io: CommandIO, endStdin: boolean): Promise<number> {
    if (io.stdin) io.stdin.pipe(es.stdin); // what arrived before the session started waits in io.stdin
    else if (endStdin) es.stdin.end(); // exec without -i: the process reads EOF, as from /dev/null
    // One resize at a time, in order: kubectl attach sends the size plus one, then the size (to make the program redraw).
    let resizing = Promise.resolve();
    io.sizes.follow((s) => {
      resizing = resizing.then(() => es.resize(s)).catch((err) => deps.logger.debug({ err: String(err) }, 'terminal resize failed (the process may have ended)'));
    });
    // kubectl interrupted: let go of the container (an attachment would otherwise hold on until the container exits).
    io.onGone(() => es.close());
    for await (const chunk of es.output) io.out(chunk.stream, chunk.data);
    return es.exitCode;
  }

  async function execute(id: string, command: string[], tty: boolean, io: CommandIO): Promise<number> {
    if ((io.stdin || tty) && deps.streaming?.execStream) {
      const size = tty ? await io.sizes.initial(INITIAL_SIZE_WAIT_MS) : undefined;
      return pump(await deps.streaming.execStream(id, command, { tty, size }), io, true);
    }
    const r = await deps.runtime.execSync(id, command);
    if (r.stdout.length) io.out('stdout', r.stdout);
    if (r.stderr.length) io.out('stderr', r.stderr);
    return r.exitCode;
  }

  async function attach(id: string, stdin: boolean, io: CommandIO): Promise<number> {
    return pump(await deps.streaming!.attachStream!(id, { stdin }), io, false);
  }

  async function overWebSocket(ws: WebSocket, opts: { stdin: boolean }, run: (io: CommandIO) => Promise<number>, hangUp: (ws: WebSocket) => void): Promise<void> {
    let stdin: PassThrough | undefined;
    const sizes = new TerminalSizes();
    if (opts.stdin) stdin = new PassThrough();
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0) stdin?.write(data.subarray(1));
      else if (data[0] === 4) { const s = parseTerminalSize(data.subarray(1).toString('utf8')); if (s) sizes.push(s); }
      else if (data[0] === 255 && data[1] === 0) stdin?.end();
    });
    ws.on('close', () => stdin?.end());
    const onGone = (fn: () => void) => ws.on('close', fn);
    const code = await run({ stdin, sizes, onGone, out: (s, data) => { if (ws.readyState === ws.OPEN) ws.send(frame(s === 'stderr' ? 2 : 1, data)); } });
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame(3, statusFor(code)));
    hangUp(ws);
  }

  async function overSpdy(session: SpdySession, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, run: (io: CommandIO) => Promise<number>): Promise<void> {
    const wanted = ['error', ...(opts.stdin ? ['stdin'] : []), ...(opts.stdout ? ['stdout'] : []), ...(opts.stderr && !opts.tty ? ['stderr'] : [])];
    const streams = new Map<string, SpdyStream>();
    const sizes = new TerminalSizes();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for streams ${wanted.join(', ')}`)), STREAMS_TIMEOUT_MS);
      session.on('close', () => { clearTimeout(timer); reject(new Error('the client went away before opening its streams')); });
      session.on('stream', (s) => {
        s.on('error', () => {});
        s.reply();
        const type = s.headers.streamtype ?? '';
        streams.set(type, s);
        if (type === 'resize') followSizes(s, sizes);
        else if (type !== 'stdin') s.resume(); // the error stream carries nothing we use
        if (wanted.every((t) => streams.has(t))) { clearTimeout(timer); resolve(); }
      });
    });
    const error = streams.get('error')!;
    try {
      const onGone = (fn: () => void) => session.on('close', fn);
      const code = await run({ stdin: streams.get('stdin'), sizes, onGone, out: (s, data) => streams.get(s)?.write(data) });
      if (code !== 0) error.write(statusFor(code));
    } catch (err) {
      error.write(internalError(err));
      throw err;
    } finally {
      for (const s of streams.values()) s.end();
    }
  }
}

/** The SPDY resize stream: JSON objects one after another (Go's json.Encoder, a newline after each). */
function followSizes(stream: Readable, sizes: TerminalSizes): void {
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const s = parseTerminalSize(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (s) sizes.push(s);
    }
  });
}
