// Bootstrap token Secrets (k8s.io/cluster-bootstrap/token/api): what the apiserver's authenticator and the controller
// manager's tokencleaner both read.
export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';

export const bootstrapSecretName = (id: string): string => `bootstrap-token-${id}`;

/** The Secret's expiration (RFC 3339, base64 in data) has passed; a value that does not parse counts as expired. */
export function bootstrapTokenExpired(data: Record<string, string> | undefined, now = Date.now()): boolean {
  const exp = data?.expiration;
  if (exp === undefined) return false;
  const t = Date.parse(Buffer.from(exp, 'base64').toString());
  return Number.isNaN(t) || t < now;
}
