// DNS rebinding guard for the plain-HTTP API: a web page can make a browser send requests to 127.0.0.1 under a
// name the attacker controls (the Host header then carries that name), or open a WebSocket to it from any origin.
// So a request is served only when its Host is an IP address, localhost, an in-cluster name of the apiserver or a
// name the operator configured, and when an Origin header (sent by browsers only) names such a host too.
import net from 'node:net';
import os from 'node:os';
import { ApiError } from '../../api/errors.ts';

const CLUSTER_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

export function hostAllowList(extra: string[] = []): (host: string | undefined, origin: string | undefined) => void {
  const names = new Set([...CLUSTER_NAMES, os.hostname().toLowerCase(), ...extra.map((n) => n.toLowerCase())]);
  const ok = (hostPort: string): boolean => {
    let h = hostPort.trim().toLowerCase();
    if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
    else if (h.split(':').length === 2) h = h.split(':')[0];
    h = h.replace(/\.$/, '');
    return net.isIP(h) !== 0 || h === 'localhost' || h.endsWith('.localhost') || names.has(h);
  };
  return (host, origin) => {
    if (host !== undefined && !ok(host)) {
      throw new ApiError('Forbidden', `host "${host}" is not allowed: the apiserver answers IP addresses, localhost and the names given with --allowed-host-names`);
    }
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try { originHost = new URL(origin).host; } catch { originHost = origin; }
      if (!ok(originHost)) throw new ApiError('Forbidden', `origin "${origin}" is not allowed`);
    } else if (origin === 'null') {
      throw new ApiError('Forbidden', 'origin "null" is not allowed');
    }
  };
}
