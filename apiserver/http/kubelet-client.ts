// How the apiserver reaches a pod's kubelet (pods/log, exec, attach, port-forward), as kube-apiserver's kubelet client:
// - without --kubelet-client-certificate: plain HTTP (kubemu's learning setups, tests that set no TLS);
// - with it: HTTPS presenting that client certificate; with --kubelet-certificate-authority the kubelet's serving
//   certificate must chain to that CA and name the node — the address dialled (its InternalIP) or the node's name —
//   so a Node object pointing at another service (etcd, say) fails TLS instead of being relayed to. Without the CA,
//   as kube-apiserver (transportConfig: no CA → Insecure), the serving certificate is not verified (main warns).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { x509Reason } from '../../lib/x509-errors.ts';

/** PEM text of --kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority. */
export interface KubeletClientConfig { cert: string; key: string; ca?: string }

export interface KubeletTarget { ip: string; port: number; node: string; hostnames: string[] }

/** The node's InternalIP and kubelet port, and the names its serving certificate may carry instead. */
export function kubeletTarget(node: KubeObject): KubeletTarget {
  const nodeName = node.metadata.name!;
  const addresses: Array<{ type: string; address: string }> = node.status?.addresses ?? [];
  const ip = addresses.find((a) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!ip || !port) throw new ApiError('ServiceUnavailable', `node ${nodeName} has no kubelet endpoint`);
  const hostnames = [nodeName, ...addresses.filter((a) => a.type === 'Hostname').map((a) => a.address)];
  return { ip, port, node: nodeName, hostnames };
}

const hostPort = (t: KubeletTarget) => `${t.ip.includes(':') ? `[${t.ip}]` : t.ip}:${t.port}`;

/** The serving certificate must name the node: its address (IP SAN) or its name (DNS SAN). Go's words when not. */
export function checkKubeletIdentity(t: KubeletTarget, cert: tls.PeerCertificate): Error | undefined {
  const sans = (cert.subjectaltname ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice('IP Address:'.length));
  const dns = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  if (ips.includes(t.ip) || t.hostnames.some((h) => dns.includes(h.toLowerCase()))) return undefined;
  // crypto/x509 HostnameError, for the IP address dialled.
  const why = ips.length ? `x509: certificate is valid for ${ips.join(', ')}, not ${t.ip}`
    : `x509: cannot validate certificate for ${t.ip} because it doesn't contain any IP SANs`;
  return Object.assign(new Error(why), { code: 'ERR_KUBELET_IDENTITY' });
}

function tlsOptions(cfg: KubeletClientConfig, t: KubeletTarget): tls.ConnectionOptions {
  return {
    host: t.ip, port: t.port, cert: cfg.cert, key: cfg.key, ca: cfg.ca, rejectUnauthorized: !!cfg.ca, minVersion: 'TLSv1.2',
    ...(net.isIP(t.ip) ? {} : { servername: t.ip }),
    checkServerIdentity: (_host, cert) => checkKubeletIdentity(t, cert),
  };
}

/** A TLS or socket error as Go's client says it ("tls: failed to verify certificate: x509: …"). */
export function dialError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_KUBELET_IDENTITY') return `tls: failed to verify certificate: ${err.message}`;
  const reason = x509Reason(err.code ?? '');
  if (err.code && !reason.startsWith('x509: ' + err.code)) return `tls: failed to verify certificate: ${reason}`;
  if (err.code === 'ECONNREFUSED') return `dial tcp ${err.message.replace(/^connect ECONNREFUSED /, '')}: connect: connection refused`;
  return err.message;
}

/** exec, attach, port-forward: a connected socket to the kubelet (TLS when configured). */
export async function dialKubelet(cfg: KubeletClientConfig | undefined, t: KubeletTarget): Promise<Duplex> {
  const socket = cfg ? tls.connect(tlsOptions(cfg, t)) : net.connect({ host: t.ip, port: t.port });
  await new Promise<void>((resolve, reject) => { socket.once(cfg ? 'secureConnect' : 'connect', resolve); socket.once('error', reject); })
    .catch((err: NodeJS.ErrnoException) => {
      socket.destroy();
      // kube-apiserver's upgrade proxy: "error dialing backend: …", a 500 the client prints as it is.
      if (cfg && err.code !== 'ECONNREFUSED' && err.code !== 'EHOSTUNREACH' && err.code !== 'ETIMEDOUT') throw new ApiError('InternalError', `error dialing backend: ${dialError(err)}`);
      throw new ApiError('ServiceUnavailable', `the kubelet of node ${t.node} at ${hostPort(t)} is not answering: ${dialError(err)}`);
    });
  return socket;
}

/** pods/log: a GET to the kubelet, its answer as it comes. */
export function kubeletGet(cfg: KubeletClientConfig | undefined, t: KubeletTarget, path: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const url = `${cfg ? 'https' : 'http'}://${hostPort(t)}${path}`;
  return new Promise((resolve, reject) => {
    const req = (cfg ? https : http).request(url, { method: 'GET', signal, agent: false, ...(cfg ? tlsOptions(cfg, t) : {}) }, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (cfg && err.code !== 'ECONNREFUSED' && err.code !== 'EHOSTUNREACH' && err.code !== 'ETIMEDOUT' && err.name !== 'AbortError') {
        reject(new ApiError('InternalError', `Get "${url}": ${dialError(err)}`));
      } else reject(new ApiError('ServiceUnavailable', `the kubelet of node ${t.node} at ${hostPort(t)} is not answering: ${dialError(err)}`));
    });
    req.end();
  });
}
