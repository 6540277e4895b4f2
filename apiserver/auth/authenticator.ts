// Authentication: who is calling. A static bearer-token table (like kube-apiserver's
// --token-auth-file); with no table configured every caller is the anonymous admin, which
// is what a local emulator wants. Both transports call this before anything else.
import fs from 'node:fs';
import type { UserInfo } from '../../api/types.ts';

export interface Authenticator {
  /** The user for a bearer token (undefined token = none sent). Returns undefined when rejected. */
  authenticate(token: string | undefined): UserInfo | undefined;
}

export const ANONYMOUS_ADMIN: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export function allowAnonymous(): Authenticator {
  return { authenticate: () => ANONYMOUS_ADMIN };
}

export function tokenAuthenticator(tokens: Map<string, UserInfo>): Authenticator {
  return { authenticate: (token) => (token === undefined ? undefined : tokens.get(token)) };
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
