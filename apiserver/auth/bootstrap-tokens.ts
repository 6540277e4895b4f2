// Bootstrap tokens (plugin/pkg/auth/authenticator/token/bootstrap, kube-apiserver --enable-bootstrap-token-auth): a
// bearer token `<id>.<secret>` (6 and 16 of [a-z0-9]) is the kube-system Secret `bootstrap-token-<id>` of type
// bootstrap.kubernetes.io/token whose token-secret matches, usage-bootstrap-authentication is "true" and whose
// expiration has not passed. The user is system:bootstrap:<id> in system:bootstrappers and the Secret's
// auth-extra-groups — what a joining kubelet uses to ask for its certificate (a CSR) and nothing more.
import crypto from 'node:crypto';
import { BOOTSTRAP_TOKEN_TYPE, bootstrapSecretName, bootstrapTokenExpired } from '../../api/bootstrap-token.ts';
import type { UserInfo } from '../../api/types.ts';
import type { TokenLookup } from './service-account-tokens.ts';

export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const EXTRA_GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

export type BootstrapReview = { user: UserInfo } | { error: string };

export class BootstrapTokens {
  constructor(private readonly lookup: TokenLookup) {}

  /** Undefined: not a bootstrap token of this cluster (no such Secret), for the next authenticator to try. */
  async authenticate(token: string): Promise<BootstrapReview | undefined> {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const [, id, secret] = m as unknown as [string, string, string];
    const s = await this.lookup.get('secrets', 'kube-system', bootstrapSecretName(id));
    if (!s) return undefined;
    const data = (s as { data?: Record<string, string> }).data ?? {};
    const field = (k: string) => (data[k] === undefined ? undefined : Buffer.from(data[k]!, 'base64').toString());
    // Kubernetes logs why and answers 401 alike; the reason stays in the apiserver (never the token).
    if (s.metadata.deletionTimestamp) return { error: 'bootstrap token is being deleted' };
    if ((s as { type?: string }).type !== BOOTSTRAP_TOKEN_TYPE) return { error: `bootstrap token secret is not of type ${BOOTSTRAP_TOKEN_TYPE}` };
    const want = Buffer.from(field('token-secret') ?? '');
    const got = Buffer.from(secret);
    if (field('token-id') !== id || want.length !== got.length || !crypto.timingSafeEqual(want, got)) return { error: 'bootstrap token does not match its secret' };
    if (bootstrapTokenExpired(data)) return { error: 'bootstrap token has expired' };
    if (field('usage-bootstrap-authentication') !== 'true') return { error: 'bootstrap token is not for authentication (usage-bootstrap-authentication)' };
    const extra = (field('auth-extra-groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    const bad = extra.find((g) => !EXTRA_GROUP.test(g));
    if (bad !== undefined) return { error: `bootstrap token has an invalid auth-extra-groups entry ${JSON.stringify(bad)}` };
    return { user: { username: `system:bootstrap:${id}`, groups: [...new Set([BOOTSTRAPPERS_GROUP, ...extra])] } };
  }
}
