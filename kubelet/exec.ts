// `kubectl exec` at the kubelet: a WebSocket with the v5.channel.k8s.io (or v4) subprotocol on
// /exec/<ns>/<pod>/<container>?command=…&stdin=…. Each binary message starts with its channel:
// 0 stdin, 1 stdout, 2 stderr, 3 status, 255 close-stream. The status on channel 3 carries the
// exit code, then the socket is closed (kubectl waits for that). The apiserver proxies here.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger.ts';
import { LABELS, type RuntimeService } from './cri/types.ts';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface ExecDeps {
  runtime: RuntimeService;
  /** The in-process runtime, if it can stream (needed for stdin: kubectl exec -i). */
  streaming?: RuntimeService;
  pods(): Array<{ metadata: { name?: string; namespace?: string; uid?: string } }>;
  logger: Logger;
}

const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);

function statusFor(code: number): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command, exit status ${code}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  });
}

function reject(socket: Duplex, code: number, message: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
}

export function attachExec(server: http.Server, deps: ExecDeps): void {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://kubelet');
      const m = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (!m) return reject(socket, 404, 'not found');
      const [ns, podName, container] = m.slice(1).map(decodeURIComponent);
      const pod = deps.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === podName);
      if (!pod) return reject(socket, 404, `pod ${ns}/${podName} is not on this node`);
      const running = (await deps.runtime.listContainers({ labelSelector: { [LABELS.podUid]: pod.metadata.uid!, [LABELS.containerName]: container } }))
        .filter((c) => c.state === 'CONTAINER_RUNNING');
      if (!running.length) return reject(socket, 400, `container ${container} is not running`);
      const command = url.searchParams.getAll('command');
      if (!command.length) return reject(socket, 400, 'you must specify at least one command for the container');
      const stdin = url.searchParams.get('stdin') === 'true';
      const tty = url.searchParams.get('tty') === 'true';
      wss.handleUpgrade(req, socket, head, (ws) => {
        run(ws, running[0].id, command, stdin, tty).catch((err) => {
          deps.logger.warn({ err: String(err), pod: `${ns}/${podName}` }, 'exec failed');
          if (ws.readyState === ws.OPEN) {
            ws.send(frame(3, JSON.stringify({ metadata: {}, status: 'Failure', message: String((err as Error).message ?? err), reason: 'InternalError' })));
            ws.close(1000);
          }
        });
      });
    })().catch(() => reject(socket, 400, 'bad exec request'));
  });

  async function run(ws: WebSocket, id: string, command: string[], stdin: boolean, tty: boolean): Promise<void> {
    let code: number;
    if (stdin && deps.streaming?.execStream) {
      // kubectl sends stdin right away: hold it until the exec has started.
      const pending: Buffer[] = [];
      let target: NodeJS.WritableStream | undefined;
      const deliver = (data: Buffer) => {
        if (data[0] === 0) target!.write(data.subarray(1));
        else if (data[0] === 255 && data[1] === 0) target!.end();
      };
      ws.on('message', (data: Buffer) => { if (target) deliver(data); else pending.push(data); });
      const es = await deps.streaming.execStream(id, command, { tty });
      target = es.stdin;
      for (const d of pending.splice(0)) deliver(d);
      ws.on('close', () => es.stdin.end());
      for await (const chunk of es.output) ws.send(frame(chunk.stream === 'stderr' ? 2 : 1, chunk.data));
      code = await es.exitCode;
    } else {
      const r = await deps.runtime.execSync(id, command);
      if (r.stdout.length) ws.send(frame(1, r.stdout));
      if (r.stderr.length) ws.send(frame(2, r.stderr));
      code = r.exitCode;
    }
    ws.send(frame(3, statusFor(code)));
    ws.close(1000);
  }
}
