// Authentication: who is calling, the pipeline's first stage. A verified client certificate names the user
// (x509.ts, read by the transport from the TLS connection); otherwise a bearer token is tried by each token
// authenticator in turn — the static token file (kube-apiserver's --token-auth-file), then ServiceAccount
// tokens (JWTs this apiserver signed), with --enable-bootstrap-token-auth bootstrap tokens before those — and a
// request none accepts is 401, as in Kubernetes. Only with neither
// a client CA nor a token file (an apiserver started bare, as unit tests and the learning-mode insecure port
// do) is a request without credentials, or with a token that is not this apiserver's, the anonymous admin.
// Both transports call this before anything else.
import fs from 'node:fs';
import type { UserInfo } from '../../api/types.ts';
import type { BootstrapTokens } from './bootstrap-tokens.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

export interface Authenticator {
  /** The user for a bearer token (undefined token = none sent), after a verified client certificate's user if the
   *  connection had one. Undefined when rejected. */
  authenticate(token: string | undefined, certificateUser?: UserInfo): Promise<UserInfo | undefined>;
}

export type TokenReview = { user: UserInfo; audiences: string[] } | { error: string; notMine?: boolean };

export const ANONYMOUS_ADMIN: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export function requestAuthenticator(o: { tokens?: Map<string, UserInfo>; serviceAccounts?: ServiceAccountTokens; clientCertificates?: boolean; bootstrapTokens?: BootstrapTokens }): Authenticator & {
  /** Who a token is for these audiences (none: the API's own): a request's bearer token, or a TokenReview's. */
  review(token: string, audiences?: string[]): Promise<TokenReview>;
} {
  const anonymousAdmin = !o.tokens?.size && !o.clientCertificates;
  const apiAudiences = () => o.serviceAccounts?.audiences ?? [];
  async function review(token: string, audiences?: string[]): Promise<TokenReview> {
    // A file token is audience-agnostic: it answers for the API's own audiences only.
    const fromFile = o.tokens?.get(token);
    const api = apiAudiences();
    if (fromFile && (!audiences || audiences.some((a) => api.includes(a)))) return { user: fromFile, audiences: audiences?.filter((a) => api.includes(a)) ?? api };
    // A bootstrap token is for the API itself, as a file token.
    const boot = !audiences || audiences.some((a) => api.includes(a)) ? await o.bootstrapTokens?.authenticate(token) : undefined;
    if (boot) return 'user' in boot ? { user: boot.user, audiences: audiences?.filter((a) => api.includes(a)) ?? api } : { error: `[invalid bearer token, ${boot.error}]` };
    const sa = await o.serviceAccounts?.authenticate(token, audiences);
    if (!sa) return { error: '[invalid bearer token]', notMine: true };
    return 'user' in sa ? sa : { ...sa, error: `[invalid bearer token, ${sa.error}]` };
  }
  return {
    review,
    async authenticate(token, certificateUser) {
      if (certificateUser) return certificateUser;
      if (token === undefined || token === '') return anonymousAdmin ? ANONYMOUS_ADMIN : undefined;
      const r = await review(token);
      if ('user' in r) return r.user;
      // Learning mode (no token file): a token that is not one this apiserver issued changes nothing, as before;
      // one it issued that no longer holds (expired, its pod gone, a forged signature) is refused.
      return anonymousAdmin && r.notMine ? ANONYMOUS_ADMIN : undefined;
    },
  };
}

/** kube-apiserver's token file format: `token,user,uid,"group1,group2"` one per line. */
export function readTokenFile(file: string): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/);
    if (!m) throw new Error(`${file}: bad token line (want token,user,uid[,"groups"])`);
    tokens.set(m[1], { username: m[2], uid: m[3] || undefined, groups: m[4] ? m[4].split(',') : [] });
  }
  return tokens;
}

/** The token of an `Authorization: Bearer …` header; the scheme is case-insensitive, as Kubernetes' bearertoken
 *  authenticator reads it (the Python client sends `bearer`). */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
