// Connection upgrades arrive here, not in the request handler. `kubectl exec`, `kubectl attach` (and so
// `kubectl debug -it`) and `kubectl port-forward` are proxied to the kubelet of the pod's node, as kube-apiserver
// does: the upgrade request (WebSocket or SPDY/3.1, the kubelet speaks both) is replayed to the kubelet's
// /exec/<ns>/<pod>/<container>, /attach/<ns>/<pod>/<container> or /portForward/<ns>/<pod> and the two sockets are joined.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, errorToStatus, toApiError } from '../../api/errors.ts';
import { goJson } from './go-json.ts';
import { findResource } from '../../api/resources.ts';
import type { KubeObject, UserInfo } from '../../api/types.ts';
import { bearerToken, type Authenticator } from '../auth/authenticator.ts';
import { certificateUser } from '../auth/x509.ts';
import type { Registry } from '../registry/types.ts';
import { routeResource } from './router.ts';
import { dialKubelet, kubeletTarget, type KubeletClientConfig, type KubeletTarget } from './kubelet-client.ts';

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable', 500: 'Internal Server Error' };

function answer(socket: Duplex, err: ApiError): void {
  const status = errorToStatus(err);
  const body = goJson(status);
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status.code} ${REASONS[status.code ?? 500] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export interface UpgradeDeps {
  registry: Registry; authenticator: Authenticator; checkHost(host: string | undefined, origin: string | undefined): void;
  /** Kubelets over TLS (kubelet-client.ts); none = plain TCP. */
  kubeletClient?: KubeletClientConfig;
}

export function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, deps: UpgradeDeps): void {
  socket.on('error', () => {});
  proxy(req, socket, head, deps).catch((err) => answer(socket, toApiError(err)));
}

type Ctx = { user: UserInfo };

async function proxy(req: http.IncomingMessage, socket: Duplex, head: Buffer, { registry, authenticator, checkHost, kubeletClient }: UpgradeDeps): Promise<void> {
  checkHost(req.headers.host, req.headers.origin);
  const url = new URL(req.url ?? '/', 'http://apiserver');
  const route = routeResource(url.pathname);
  if (!route?.name || route.info.resource !== 'pods' || !route.subresource) throw new ApiError('NotFound', 'the server could not find the requested resource');
  const auth = req.headers.authorization;
  const user = await authenticator.authenticate(bearerToken(auth), certificateUser(req.socket));
  if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
  const ctx: Ctx = { user };
  const pod = await registry.get(ctx, { info: route.info, namespace: route.namespace, name: route.name });
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket' && upgrade !== 'spdy/3.1') {
    throw new ApiError('BadRequest', `pods/${route.subresource} needs a WebSocket or SPDY/3.1 upgrade, not ${JSON.stringify(req.headers.upgrade ?? '')}`);
  }
  const ns = encodeURIComponent(route.namespace!);
  const name = encodeURIComponent(route.name);
  let path: string;
  let search = url.search;
  if (route.subresource === 'exec' || route.subresource === 'attach') path = `/${route.subresource}/${ns}/${name}/${encodeURIComponent(execContainer(url, pod))}`;
  else if (route.subresource === 'portforward') { path = portForwardPath(pod, ns, name); search = kubeletPorts(url.searchParams); }
  else throw new ApiError('NotFound', `the server could not find the requested resource (pods/${route.subresource})`);
  await replay(req, socket, head, kubeletClient, await kubeletOf(ctx, registry, pod), path + search);
}

/** exec and attach: the container named in the query (an init or ephemeral one too), or the pod's only one. */
function execContainer(url: URL, pod: KubeObject): string {
  const names = (list: string) => ((pod.spec?.[list] ?? []) as Array<{ name: string }>).map((c) => c.name);
  const containers = names('containers');
  const container = url.searchParams.get('container') || (containers.length === 1 ? containers[0] : undefined);
  if (!container) throw new ApiError('BadRequest', `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`);
  if (![...containers, ...names('initContainers'), ...names('ephemeralContainers')].includes(container)) {
    throw new ApiError('BadRequest', `container ${container} is not valid for pod ${pod.metadata.name}`);
  }
  return container;
}

/** port-forward: the pod must be running, the kubelet dials its IP. */
function portForwardPath(pod: KubeObject, ns: string, name: string): string {
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running') throw new ApiError('BadRequest', `unable to forward ports to pod ${pod.metadata.name}: it is not running (phase ${phase})`);
  return `/portForward/${ns}/${name}`;
}

/** PodPortForwardOptions' `ports` (repeated or comma-separated, as apimachinery converts []int32) become the
 *  kubelet's `port` parameters, as kube-apiserver's PortForwardLocation writes them. */
function kubeletPorts(q: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const v of q.getAll('ports')) {
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) {
        throw new ApiError('BadRequest', `cannot convert to []int32: strconv.ParseUint: parsing ${JSON.stringify(p)}: ${/^\d+$/.test(p) ? 'value out of range' : 'invalid syntax'}`);
      }
      out.append('port', String(Number(p)));
    }
  }
  const text = out.toString();
  return text ? `?${text}` : '';
}

async function kubeletOf(ctx: Ctx, registry: Registry, pod: KubeObject): Promise<KubeletTarget> {
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (!nodeName) throw new ApiError('BadRequest', `pod ${pod.metadata.name} does not have a host assigned`);
  return kubeletTarget(await registry.get(ctx, { info: findResource('', 'nodes')!, name: nodeName }));
}

/** Send the upgrade request on to the kubelet (without the client's credentials) and join the sockets. */
async function replay(req: http.IncomingMessage, socket: Duplex, head: Buffer, tlsConfig: KubeletClientConfig | undefined, kubelet: KubeletTarget, path: string): Promise<void> {
  const { ip, port } = kubelet;
  const upstream = await dialKubelet(tlsConfig, kubelet);
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${ip.includes(':') ? `[${ip}]` : ip}:${port}`];
  for (const [k, v] of Object.entries(req.headers)) {
    if (['host', 'authorization'].includes(k) || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      // The client's credentials are for the apiserver: a bearer token sent as a WebSocket subprotocol stays here too.
      const value = k === 'sec-websocket-protocol' ? one.split(',').map((p) => p.trim()).filter((p) => !p.startsWith('base64url.bearer.authorization.k8s.io.')).join(', ') : one;
      if (value) lines.push(`${k}: ${value}`);
    }
  }
  upstream.write(lines.join('\r\n') + '\r\n\r\n');
  if (head.length) upstream.write(head);
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
}
