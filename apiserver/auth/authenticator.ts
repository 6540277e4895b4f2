// Authentication: who is calling, the pipeline's first stage. A bearer token is tried by each token
// authenticator in turn — the static token file (kube-apiserver's --token-auth-file), then ServiceAccount
// tokens (JWTs this apiserver signed) — and a token none accepts is 401, as in Kubernetes. With no token file
// configured (a local emulator's learning mode) a request without a token, or with one that is not this
// apiserver's, is the anonymous admin. Both transports call this before anything else.
import fs from 'node:fs';
import type { UserInfo } from '../../api/types.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

export interface Authenticator {
  /** The user for a bearer token (undefined token = none sent). Undefined when rejected. */
  authenticate(token: string | undefined): Promise<UserInfo | undefined>;
}

export const ANONYMOUS_ADMIN: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export function requestAuthenticator(o: { tokens?: Map<string, UserInfo>; serviceAccounts?: ServiceAccountTokens }): Authenticator {
  const anonymousAdmin = !o.tokens?.size;
  return {
    async authenticate(token) {
      if (token === undefined || token === '') return anonymousAdmin ? ANONYMOUS_ADMIN : undefined;
      const fromFile = o.tokens?.get(token);
      if (fromFile) return fromFile;
      const sa = await o.serviceAccounts?.authenticate(token);
      if (sa && 'user' in sa) return sa.user;
      // Learning mode (no token file): a token that is not one this apiserver issued changes nothing, as before;
      // one it issued that no longer holds (expired, its pod gone, a forged signature) is refused.
      if (anonymousAdmin && (!sa || sa.notMine)) return ANONYMOUS_ADMIN;
      return undefined;
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
