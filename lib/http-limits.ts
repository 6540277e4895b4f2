// Limits every kubemu HTTP server sets, as Kubernetes' servers do, so a slow or greedy client cannot hold sockets:
// the request head must arrive within 32 s (kube-apiserver's ReadHeaderTimeout) and the whole request within 60 s
// (its default --request-timeout). These bound only the receipt of the request: long-running answers (watch,
// logs -f, exec, port-forward) stream as long as they need. Idle keep-alive sockets close after 5 s (Node's default).
import type http from 'node:http';

export interface HttpLimits { headersTimeoutMs?: number; requestTimeoutMs?: number; maxConnections?: number }

export const HTTP_LIMITS = { headersTimeoutMs: 32_000, requestTimeoutMs: 60_000, maxConnections: 4096 } as const;

/** http.createServer options: Node checks the timeouts above only every 30 s by default; check every second. */
export const HTTP_SERVER_OPTIONS: http.ServerOptions = { connectionsCheckingInterval: 1000 };

export function applyHttpLimits<T extends http.Server>(server: T, limits: HttpLimits = {}): T {
  const l = { ...HTTP_LIMITS, ...limits };
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.maxConnections = l.maxConnections;
  server.maxHeadersCount = 500;
  return server;
}
