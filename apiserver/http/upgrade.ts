// Connection upgrades arrive here, not in the request handler. `kubectl exec` (WebSocket,
// v5.channel.k8s.io) is proxied to the kubelet of the pod's node, as kube-apiserver does: the
// upgrade request is replayed to the kubelet's /exec/<ns>/<pod>/<container> and the two sockets
// are joined. SPDY (kubectl ≤ 1.29), attach and port-forward are not served yet: a clear Status.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, errorToStatus, toApiError } from '../../api/errors.ts';
import { findResource } from '../../api/resources.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Registry } from '../registry/types.ts';
import { routeResource } from './router.ts';

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable', 500: 'Internal Server Error' };

function answer(socket: Duplex, err: ApiError): void {
  const status = errorToStatus(err);
  const body = JSON.stringify(status);
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status.code} ${REASONS[status.code ?? 500] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, deps: { registry: Registry; authenticator: Authenticator }): void {
  socket.on('error', () => {});
  proxy(req, socket, head, deps).catch((err) => answer(socket, toApiError(err)));
}

async function proxy(req: http.IncomingMessage, socket: Duplex, head: Buffer, { registry, authenticator }: { registry: Registry; authenticator: Authenticator }): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://apiserver');
  const route = routeResource(url.pathname);
  if (!route?.name || route.info.resource !== 'pods' || !route.subresource) throw new ApiError('NotFound', 'the server could not find the requested resource');
  const auth = req.headers.authorization;
  const user = authenticator.authenticate(auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined);
  if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
  const ctx = { user };
  const pod = await registry.get(ctx, { info: route.info, namespace: route.namespace, name: route.name });
  if (route.subresource !== 'exec') {
    throw new ApiError('ServiceUnavailable', `pods/${route.subresource} is not served by kubemu yet (kubectl exec and logs are)`);
  }
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw new ApiError('BadRequest', 'kubemu serves exec over WebSocket (v5.channel.k8s.io, kubectl 1.30+); SPDY is not supported');
  }
  const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const container = url.searchParams.get('container') || (containers.length === 1 ? containers[0] : undefined);
  if (!container || !containers.includes(container)) {
    throw new ApiError('BadRequest', `a container name must be specified for pod ${route.name}, choose one of: [${containers.join(' ')}]`);
  }
  if (!pod.spec?.nodeName) throw new ApiError('BadRequest', `pod ${route.name} does not have a host assigned`);
  const node = await registry.get(ctx, { info: findResource('', 'nodes')!, name: pod.spec.nodeName });
  const ip = (node.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!ip || !port) throw new ApiError('ServiceUnavailable', `node ${pod.spec.nodeName} has no kubelet endpoint`);

  const upstream = net.connect({ host: ip, port });
  await new Promise<void>((resolve, reject) => { upstream.once('connect', resolve); upstream.once('error', reject); })
    .catch((err) => { throw new ApiError('ServiceUnavailable', `the kubelet of node ${pod.spec.nodeName} at ${ip}:${port} is not answering: ${err.message}`); });
  const path = `/exec/${encodeURIComponent(route.namespace!)}/${encodeURIComponent(route.name)}/${encodeURIComponent(container)}${url.search}`;
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${ip}:${port}`];
  for (const [k, v] of Object.entries(req.headers)) {
    if (['host', 'authorization'].includes(k) || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  }
  upstream.write(lines.join('\r\n') + '\r\n\r\n');
  if (head.length) upstream.write(head);
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
}
