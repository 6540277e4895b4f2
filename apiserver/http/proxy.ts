// The pods/proxy and services/proxy subresources (what `kubectl proxy` users open, as "Kubernetes in Action" does):
//   /api/v1/namespaces/NS/pods/[scheme:]NAME[:PORT]/proxy/PATH
//   /api/v1/namespaces/NS/services/[scheme:]NAME[:PORT]/proxy/PATH
// The request is replayed to the pod's IP (for a Service: a ready endpoint of the named or numbered port, chosen
// at random, as kube-apiserver does) and the answer streamed back. Only plain HTTP is proxied here.
import http from 'node:http';
import { ApiError } from '../../api/errors.ts';
import { findResource } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Registry, RequestContext } from '../registry/types.ts';

type Obj = Record<string, any>;
const ENDPOINTS = findResource('', 'endpoints')!;
/** Hop-by-hop headers, and the caller's credentials, which are for the apiserver, never for the pod. */
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'authorization', 'host']);

/** `[scheme:]name[:port]`, as Kubernetes' SplitSchemeNamePort reads it. */
export function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } {
  const parts = id.split(':');
  if (parts.length === 1) return { scheme: '', name: parts[0], port: '' };
  if (parts.length === 2) return { scheme: '', name: parts[0], port: parts[1] };
  if (parts.length === 3 && (parts[0] === 'http' || parts[0] === 'https')) return { scheme: parts[0], name: parts[1], port: parts[2] };
  throw new ApiError('BadRequest', `invalid service request ${JSON.stringify(id)}`);
}

async function podTarget(registry: Registry, ctx: RequestContext, info: Obj, ns: string, name: string, port: string): Promise<{ ip: string; port: number }> {
  const pod = await registry.get(ctx, { info: info as never, namespace: ns, name });
  const ip = pod.status?.podIP;
  if (!ip) throw new ApiError('BadRequest', `address not allowed: pod ${name} has no IP address yet`);
  const n = port ? Number(port) : 80;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    const named = (pod.spec?.containers ?? []).flatMap((c: Obj) => c.ports ?? []).find((p: Obj) => p.name === port);
    if (!named) throw new ApiError('BadRequest', `invalid port ${JSON.stringify(port)} for pod ${name}`);
    return { ip, port: named.containerPort };
  }
  return { ip, port: n };
}

async function serviceTarget(registry: Registry, ctx: RequestContext, info: Obj, ns: string, name: string, port: string): Promise<{ ip: string; port: number }> {
  const svc = await registry.get(ctx, { info: info as never, namespace: ns, name });
  // A numeric port names the Service port with that number; the endpoints are matched by port name.
  const ports: Obj[] = svc.spec?.ports ?? [];
  const sp = port === '' ? ports[0] : ports.find((p) => p.name === port) ?? ports.find((p) => String(p.port) === port);
  if (!sp) throw new ApiError('ServiceUnavailable', `no service port ${JSON.stringify(port)} found for service ${JSON.stringify(name)}`);
  const ep = await registry.get(ctx, { info: ENDPOINTS, namespace: ns, name }).catch(() => undefined) as KubeObject | undefined;
  const choices: Array<{ ip: string; port: number }> = [];
  for (const ss of (ep as Obj | undefined)?.subsets ?? []) {
    const epPort = (ss.ports ?? []).find((p: Obj) => (p.name ?? '') === (sp.name ?? ''));
    if (!epPort) continue;
    for (const a of ss.addresses ?? []) choices.push({ ip: a.ip, port: epPort.port });
  }
  if (!choices.length) throw new ApiError('ServiceUnavailable', `no endpoints available for service "${name}"`);
  return choices[Math.floor(Math.random() * choices.length)];
}

export async function proxySubresource(req: http.IncomingMessage, res: http.ServerResponse, registry: Registry, ctx: RequestContext,
  route: { info: Obj; namespace?: string; name?: string }, rawPath: string, search: string): Promise<void> {
  const { scheme, name, port } = splitSchemeNamePort(route.name ?? '');
  if (scheme === 'https') throw new ApiError('BadRequest', 'proxying to https is not supported by kubemu yet: use http');
  const target = route.info.resource === 'pods'
    ? await podTarget(registry, ctx, route.info, route.namespace!, name, port)
    : await serviceTarget(registry, ctx, route.info, route.namespace!, name, port);
  // Everything after ".../proxy" is the path on the pod ("/" when nothing follows).
  const i = rawPath.indexOf('/proxy');
  const path = (rawPath.slice(i + '/proxy'.length) || '/') + search;
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && v !== undefined) headers[k] = v;
  headers.host = `${target.ip}:${target.port}`;
  await new Promise<void>((resolve, reject) => {
    const up = http.request({ host: target.ip, port: target.port, method: req.method, path, headers, timeout: 30_000 }, (answer) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(answer.headers)) if (!DROP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', resolve);
    });
    up.on('timeout', () => up.destroy(new Error('i/o timeout')));
    up.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'EHOSTUNREACH' ? 'no route to host' : err.message;
      reject(new ApiError('ServiceUnavailable', `error trying to reach service: dial tcp ${target.ip}:${target.port}: connect: ${why}`));
    });
    req.pipe(up);
  });
}
