// The kubelet's HTTP API (port 10250 in Kubernetes): health, the pods it runs, and container
// logs, which the apiserver proxies for `kubectl logs` (GET /containerLogs/<ns>/<pod>/<container>).
// Upgrades, also proxied by the apiserver: /exec/<ns>/<pod>/<container>, /attach/<ns>/<pod>/<container> and
// /portForward/<ns>/<pod>.
// With a serving certificate (--tls-cert-file) it is HTTPS and every request but /healthz is authenticated (auth.ts):
// 401 "Unauthorized" without a client certificate of the client CA or a token the apiserver accepts.
import http from 'node:http';
import https from 'node:https';
import { applyHttpLimits, HTTP_SERVER_OPTIONS } from '../lib/http-limits.ts';
import { queryBool } from '../lib/query-params.ts';
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/logger.ts';
import { LABELS, type RuntimeService } from './cri/types.ts';
import { remoteCommandHandler } from './remote-command.ts';
import { servePortForward } from './port-forward.ts';
import { rejectUpgrade } from './spdy-upgrade.ts';
import { authorizeKubeletRequest, forbiddenMessage, requestAttributes, type KubeletAuthenticator, type KubeletAuthorizer } from './auth.ts';

/** The serving certificate and key (PEM), and the CA whose client certificates are users (--client-ca-file). */
export interface KubeletTLS { cert: string; key: string; clientCA?: string }

export interface KubeletAuth {
  nodeName: string;
  authenticator: KubeletAuthenticator;
  /** Default authorizeKubeletRequest (allows every authenticated request, until part 2). */
  authorize?: KubeletAuthorizer;
}

export interface KubeletServerDeps {
  runtime: RuntimeService;
  /** The in-process runtime, if it can stream (kubectl exec -i / -t, kubectl attach). */
  streaming?: RuntimeService;
  /** The pods bound to this node, as the kubelet last saw them. */
  pods(): Array<{ metadata: { name?: string; namespace?: string; uid?: string }; spec?: any; status?: any }>;
  logger: Logger;
  /** Hollow node: port-forward is simulated (fake-network.ts). */
  simulateNetwork?: boolean;
  /** HTTPS with this certificate; none = plain HTTP (main.ts warns). */
  tls?: KubeletTLS;
  /** Authentication and authorization of every request but /healthz; none = anyone who can connect is served. */
  auth?: KubeletAuth;
}

function fail(res: http.ServerResponse, code: number, message: string): void {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' }).end(message);
}

export function createKubeletServer(deps: KubeletServerDeps): http.Server | https.Server {
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    admit(req).then((refused) => (refused ? fail(res, refused.code, refused.message) : handle(req, res)))
      .catch((err) => { deps.logger.warn({ err: String(err), path: req.url }, 'kubelet request failed'); fail(res, 500, String((err as Error).message ?? err)); });
  };
  // rejectUnauthorized false: a client certificate that does not verify still connects, and is answered 401 here.
  const server = applyHttpLimits(deps.tls
    ? https.createServer({ ...HTTP_SERVER_OPTIONS, cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2',
      ...(deps.tls.clientCA ? { ca: deps.tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}) }, onRequest)
    : http.createServer(HTTP_SERVER_OPTIONS, onRequest));
  const remoteCommand = remoteCommandHandler(deps);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    admit(req).then((refused) => (refused ? rejectUpgrade(socket, refused.code, refused.message) : upgrade(req, socket, head)))
      .catch((err) => { deps.logger.warn({ err: String(err), path: req.url }, 'kubelet upgrade failed'); rejectUpgrade(socket, 500, String((err as Error).message ?? err)); });
  });
  return server;

  /** Authentication, then the authorization hook: undefined when the request may go on, else the kubelet's answer. */
  async function admit(req: http.IncomingMessage): Promise<{ code: number; message: string } | undefined> {
    if (!deps.auth) return undefined;
    // /healthz stays open for `kubemu up`'s readiness wait (the real kubelet has it on a separate --healthz-port, 10248).
    if (new URL(req.url ?? '/', 'http://kubelet').pathname === '/healthz') return undefined;
    const a = await deps.auth.authenticator.authenticate(req);
    if (!a.user) {
      deps.logger.debug({ path: req.url, reason: a.reason }, 'unable to authenticate the request');
      return { code: 401, message: 'Unauthorized' };
    }
    const attrs = requestAttributes(deps.auth.nodeName, a.user, req);
    const decision = await (deps.auth.authorize ?? authorizeKubeletRequest)(attrs).catch((err) => {
      deps.logger.error({ err: String(err) }, 'authorization error');
      return undefined;
    });
    if (!decision) return { code: 500, message: `Authorization error (user=${attrs.user.username}, verb=${attrs.verb}, resource=${attrs.resource}, subresource=${attrs.subresource})` };
    if (!decision.allowed) return { code: 403, message: forbiddenMessage(attrs) };
    return undefined;
  }

  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://kubelet').pathname;
    const reject = (code: number, message: string) => rejectUpgrade(socket, code, message);
    const e = /^\/(exec|attach)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    const pf = /^\/portForward\/([^/]+)\/([^/]+)$/.exec(path);
    const served = e ? remoteCommand(e[1] as 'exec' | 'attach', req, socket, head, ...(e.slice(2).map(decodeURIComponent) as [string, string, string]))
      : pf ? servePortForward(deps, req, socket, head, decodeURIComponent(pf[1]), decodeURIComponent(pf[2])) : undefined;
    if (!served) return reject(404, 'not found');
    served.catch((err) => {
      deps.logger.warn({ err: String(err), path }, 'kubelet upgrade failed');
      if (socket.writable) reject(400, String((err as Error).message ?? err));
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    if (url.pathname === '/healthz' || url.pathname === '/readyz') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    if (url.pathname === '/pods') {
      const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: deps.pods() });
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    }
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return fail(res, 404, 'not found');
    const [ns, podName, container] = m.slice(1).map(decodeURIComponent);
    const pod = deps.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === podName);
    if (!pod) return fail(res, 404, `pod ${ns}/${podName} is not on this node`);
    const all = (await deps.runtime.listContainers({ labelSelector: { [LABELS.podUid]: pod.metadata.uid!, [LABELS.containerName]: container } }))
      .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0));
    // PodLogOptions' bools as Kubernetes decodes them (the Python client sends `follow=True`).
    const previous = queryBool(url.searchParams, 'previous') ?? false;
    const target = previous ? all[1] : all[0];
    if (!target) {
      return fail(res, 400, previous ? `previous terminated container "${container}" in pod "${podName}" not found`
        : `container "${container}" in pod "${podName}" is waiting to start: ContainerCreating`);
    }
    const p = url.searchParams;
    const tail = p.get('tailLines');
    const follow = queryBool(p, 'follow') ?? false;
    // PodLogOptions: sinceSeconds or sinceTime (RFC 3339) — the lines written since; limitBytes — at most that much.
    const sinceSeconds = p.get('sinceSeconds');
    const sinceTime = p.get('sinceTime');
    const sinceMs = sinceSeconds ? Date.now() - Number(sinceSeconds) * 1000 : sinceTime ? Date.parse(sinceTime) : undefined;
    if (sinceMs !== undefined && !Number.isFinite(sinceMs)) return fail(res, 400, `invalid sinceSeconds/sinceTime: ${sinceSeconds ?? sinceTime}`);
    const limit = p.get('limitBytes') ? Number(p.get('limitBytes')) : Infinity;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', ...(follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
    const logs = deps.runtime.containerLogs(target.id, { follow, tail: tail ? Number(tail) : undefined, timestamps: queryBool(p, 'timestamps') ?? false, sinceMs });
    const it = logs[Symbol.asyncIterator]();
    // When the client goes (kubectl logs -f interrupted), stop following.
    res.on('close', () => { void it.return?.(); });
    let left = limit;
    while (left > 0) {
      const r = await it.next();
      if (r.done || res.destroyed) break;
      const data = r.value.data.length > left ? r.value.data.subarray(0, left) : r.value.data;
      left -= data.length;
      res.write(data);
    }
    if (left <= 0) void it.return?.();
    res.end();
  }
}
