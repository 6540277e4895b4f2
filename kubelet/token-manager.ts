// The kubelet's ServiceAccount token manager (pkg/kubelet/token/token_manager.go): the tokens of projected
// serviceAccountToken volumes, asked from the API (serviceaccounts/<name>/token, a TokenRequest bound to the pod)
// and cached per ServiceAccount, audiences, expiry and pod. A cached token is used until it is older than 80% of
// its lifetime or 24 hours (less up to 10 s of jitter, so a node's pods do not all ask at once); when the API
// cannot give a new one, the old one is used as long as it has not expired.
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';

export const MAX_TTL_MS = 24 * 3600_000;
export const MAX_JITTER_MS = 10_000;

export interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds: number;
  boundObjectRef: { apiVersion: 'v1'; kind: 'Pod'; name: string; uid: string };
}

export interface IssuedToken { token: string; expirationTimestamp: string; expirationSeconds: number }

/**
 * requiresRefresh: true once `now` is past the token's issue time + 24 h, or past its expiry less 20% of its lifetime
 * (each less the jitter). The issue time is the expiry less the lifetime the API granted.
 */
export function requiresRefresh(t: IssuedToken, now: number, jitterMs: number): boolean {
  const exp = Date.parse(t.expirationTimestamp);
  const ttlMs = t.expirationSeconds * 1000;
  const iat = exp - ttlMs;
  if (now > iat + MAX_TTL_MS - jitterMs) return true;
  return now > exp - Math.floor(t.expirationSeconds * 20 / 100) * 1000 - jitterMs;
}

export class TokenManager {
  private readonly cache = new Map<string, IssuedToken>();

  constructor(private readonly client: ApiClient, private readonly o: { now?: () => number; jitterMs?: () => number } = {}) {}

  private now(): number { return this.o.now?.() ?? Date.now(); }

  /** The token for a pod's projection: the cached one while it is fresh, else a new one from the API. */
  async get(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<string> {
    this.dropExpired();
    const key = JSON.stringify([namespace, serviceAccount, spec.audiences ?? [], spec.expirationSeconds, spec.boundObjectRef.name, spec.boundObjectRef.uid]);
    const cached = this.cache.get(key);
    const jitter = this.o.jitterMs?.() ?? Math.floor(Math.random() * (MAX_JITTER_MS / 1000)) * 1000;
    if (cached && !requiresRefresh(cached, this.now(), jitter)) return cached.token;
    try {
      const tr = await this.client.createSubresource({ group: '', resource: 'serviceaccounts' }, namespace, serviceAccount, 'token', {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: serviceAccount, namespace },
        spec: { ...(spec.audiences?.length ? { audiences: spec.audiences } : {}), expirationSeconds: spec.expirationSeconds, boundObjectRef: spec.boundObjectRef },
      } as KubeObject);
      const status = (tr as { status?: { token?: string; expirationTimestamp?: string } }).status;
      const granted = (tr as { spec?: { expirationSeconds?: number } }).spec?.expirationSeconds ?? spec.expirationSeconds;
      if (!status?.token || !status.expirationTimestamp) throw new Error('the TokenRequest came back without a token');
      this.cache.set(key, { token: status.token, expirationTimestamp: status.expirationTimestamp, expirationSeconds: granted });
      return status.token;
    } catch (err) {
      // As Kubernetes: a token that has not expired yet is still good while the API cannot give a new one.
      if (cached && Date.parse(cached.expirationTimestamp) > this.now()) return cached.token;
      throw err;
    }
  }

  /** The tokens of a pod that is gone. */
  deletePod(uid: string): void {
    for (const k of this.cache.keys()) if ((JSON.parse(k) as unknown[])[5] === uid) this.cache.delete(k);
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [k, t] of this.cache) if (Date.parse(t.expirationTimestamp) <= now) this.cache.delete(k);
  }
}
