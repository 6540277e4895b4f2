// Who may use the kubelet's API, as the real kubelet decides it (pkg/kubelet/server/auth.go over k8s.io/apiserver's
// delegating authenticator, authenticatorfactory/delegating.go):
//   1. an x509 client certificate that --client-ca-file verifies: CN = user, O = groups;
//   2. a bearer token (Authorization header, or a WebSocket's base64url.bearer.authorization.k8s.io. subprotocol) that
//      the apiserver accepts in a TokenReview (--authentication-token-webhook), answers cached for
//      --authentication-token-webhook-cache-ttl (2m0s);
//   3. else anonymous (system:anonymous) if --anonymous-auth, unless a credential was offered and failed: then 401.
// Then authorization — a hook that allows everything for now (part 2: a SubjectAccessReview per request).
import crypto from 'node:crypto';
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiClient } from '../client/index.ts';
import { x509Reason } from '../lib/x509-errors.ts';

export interface KubeletUser { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }

/** The apiserver's answer for a token: the user, or undefined when it is not authenticated. Throws when it could not ask. */
export type TokenReviewer = (token: string) => Promise<KubeletUser | undefined>;

export interface KubeletAuthenticatorOptions {
  /** Client certificates are checked (the TLS server requests them and verifies them against the client CA). */
  x509: boolean;
  /** Bearer tokens go to the apiserver (--authentication-token-webhook). */
  reviewToken?: TokenReviewer;
  /** --anonymous-auth: a request with no credentials at all is system:anonymous. */
  anonymous: boolean;
  /** How long a TokenReview's answer is kept (the real default, 2 min, for both answers). */
  cacheTTLMs?: number;
}

export const DEFAULT_WEBHOOK_CACHE_TTL_MS = 2 * 60_000;
export const ANONYMOUS: KubeletUser = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
const WS_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
const MAX_CACHED = 4096;

/** The outcome of authentication: a user, or why not (for the log; the client only ever sees 401 "Unauthorized"). */
export type Authentication = { user: KubeletUser } | { user?: undefined; reason: string };

export interface KubeletAuthenticator { authenticate(req: http.IncomingMessage): Promise<Authentication> }

export function kubeletAuthenticator(o: KubeletAuthenticatorOptions): KubeletAuthenticator {
  if (!o.x509 && !o.reviewToken && !o.anonymous) throw new Error('no authentication method configured');
  const ttl = o.cacheTTLMs ?? DEFAULT_WEBHOOK_CACHE_TTL_MS;
  // Keyed by the token's hash, so the cache holds no tokens. Transport errors are never kept (cacheErrs false).
  const cache = new Map<string, { user?: KubeletUser; until: number }>();
  async function reviewCached(token: string): Promise<KubeletUser | undefined> {
    const key = crypto.createHash('sha256').update(token).digest('hex');
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.user;
    const user = await o.reviewToken!(token);
    if (ttl > 0) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(key, { user, until: Date.now() + ttl });
    }
    return user;
  }

  return {
    async authenticate(req) {
      const errors: string[] = [];
      // The union: the first that says who it is wins; one that fails says why and the next is tried.
      if (o.x509) {
        const r = certificateUser(req.socket as TLSSocket);
        if (r && 'user' in r) return { user: withAuthenticated(r.user) };
        if (r) errors.push(r.error);
      }
      if (o.reviewToken) {
        const token = bearerToken(req);
        if (token !== undefined) {
          try {
            const user = await reviewCached(token);
            if (user) return { user: withAuthenticated(user) };
            errors.push('invalid bearer token');
          } catch (err) {
            errors.push(`token review: ${(err as Error).message}`);
          }
        }
      }
      // Anonymous only when nothing was offered (unionauth.NewFailOnError): a bad certificate or token is 401.
      if (errors.length) return { reason: errors.join('; ') };
      if (o.anonymous) return { user: ANONYMOUS };
      return { reason: 'no credentials' };
    },
  };
}

/** group.NewAuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
function withAuthenticated(u: KubeletUser): KubeletUser {
  return u.groups.includes('system:authenticated') ? u : { ...u, groups: [...u.groups, 'system:authenticated'] };
}

/** The TLS client certificate's user, an error when one was sent that does not verify, undefined when none was sent. */
function certificateUser(socket: TLSSocket): { user: KubeletUser } | { error: string } | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !Object.keys(cert).length) return undefined;
  if (!socket.authorized) return { error: `verifying certificate SN=${cert.serialNumber} failed: ${x509Reason(String(socket.authorizationError), cert.valid_to)}` };
  const cn = one(cert.subject?.CN);
  // CommonNameUserConversion: no CN, no opinion.
  if (!cn) return undefined;
  const o = cert.subject?.O;
  return { user: { username: cn, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] } };
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Authorization: Bearer <token>, or (WebSockets, which cannot set headers from a browser) the subprotocol form. */
function bearerToken(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1].trim() || undefined : undefined;
  }
  for (const p of (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim())) {
    if (!p.startsWith(WS_PROTOCOL_PREFIX)) continue;
    const token = Buffer.from(p.slice(WS_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
    if (token) return token;
  }
  return undefined;
}

/** A TokenReviewer asking the apiserver (authentication.k8s.io/v1 TokenReview, create) through the kubelet's client. */
export function tokenReviewer(client: ApiClient): TokenReviewer {
  return async (token) => {
    const review = await client.create({ group: 'authentication.k8s.io', resource: 'tokenreviews' }, undefined,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token } } as never) as { status?: { authenticated?: boolean; user?: KubeletUser } };
    const s = review.status;
    if (!s?.authenticated || !s.user?.username) return undefined;
    return { username: s.user.username, uid: s.user.uid, groups: s.user.groups ?? [], extra: s.user.extra };
  };
}

/** What a request asks of the node, as nodeAuthorizerAttributesGetter builds it: nodes/<node>/proxy, or stats, metrics, log. */
export interface KubeletRequestAttributes {
  user: KubeletUser;
  verb: string;
  apiGroup: '';
  apiVersion: 'v1';
  resource: 'nodes';
  subresource: 'proxy' | 'stats' | 'metrics' | 'log';
  name: string;
  path: string;
}

const VERBS: Record<string, string> = { POST: 'create', GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
const isSubpath = (p: string, base: string) => p === base || p.startsWith(`${base}/`);

export function requestAttributes(nodeName: string, user: KubeletUser, req: http.IncomingMessage): KubeletRequestAttributes {
  const path = new URL(req.url ?? '/', 'https://kubelet').pathname;
  const subresource = isSubpath(path, '/stats') ? 'stats' : isSubpath(path, '/metrics') ? 'metrics' : isSubpath(path, '/logs') ? 'log' : 'proxy';
  return { user, verb: VERBS[req.method ?? 'GET'] ?? '', apiGroup: '', apiVersion: 'v1', resource: 'nodes', subresource, name: nodeName, path };
}

/** Decides a request's attributes. Part 2 replaces this with a SubjectAccessReview (the kubelet's --authorization-mode Webhook). */
export type KubeletAuthorizer = (attrs: KubeletRequestAttributes) => Promise<{ allowed: boolean; reason?: string }>;

/** THE AUTHORIZATION HOOK (part 2 goes here): for now every authenticated request is allowed, as --authorization-mode AlwaysAllow. */
export const authorizeKubeletRequest: KubeletAuthorizer = async () => ({ allowed: true });

/** The kubelet's 403 body for a request its authorizer refused. */
export function forbiddenMessage(a: KubeletRequestAttributes): string {
  return `Forbidden (user=${a.user.username}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}
