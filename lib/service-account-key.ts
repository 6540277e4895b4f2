// The ServiceAccount token signing key `kubemu up` makes on a cluster's first start (the apiserver's
// --service-account-signing-key-file and --service-account-key-file, apiserver/auth/service-account-tokens.ts).
import crypto from 'node:crypto';

/** A fresh signing key pair (EC P-256) in PEM: `kubemu up` writes it once into <dir>/pki/. */
export function newSigningKeyPem(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** The issuer of the legacy Secret-based tokens (pkg/serviceaccount: LegacyIssuer). */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';

/** The key id Kubernetes puts in the JWT header: base64url(sha256(the public key's DER)). */
export function keyId(publicKey: crypto.KeyObject): string {
  return crypto.createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

/** The JWS algorithm of a signing or verification key: ES256 (EC P-256) or RS256 (RSA). */
export function algOf(key: crypto.KeyObject): 'ES256' | 'RS256' {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  throw new Error(`service account signing key: want an EC P-256 or RSA key, got ${key.asymmetricKeyType}`);
}

/** What a legacy token names (pkg/serviceaccount/legacy.go's legacyPrivateClaims). */
export interface LegacyClaims { namespace: string; secretName: string; serviceAccountName: string; serviceAccountUID: string }

/**
 * A legacy ServiceAccount token, as kube-controller-manager's tokens controller signs it into a Secret of type
 * kubernetes.io/service-account-token: no audience and no expiry — valid while the Secret and its ServiceAccount are.
 */
export async function signLegacyToken(key: crypto.KeyObject, c: LegacyClaims): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({
    'kubernetes.io/serviceaccount/namespace': c.namespace,
    'kubernetes.io/serviceaccount/secret.name': c.secretName,
    'kubernetes.io/serviceaccount/service-account.name': c.serviceAccountName,
    'kubernetes.io/serviceaccount/service-account.uid': c.serviceAccountUID,
  }).setProtectedHeader({ alg: algOf(key), kid: keyId(crypto.createPublicKey(key)) })
    .setIssuer(LEGACY_ISSUER).setSubject(`system:serviceaccount:${c.namespace}:${c.serviceAccountName}`)
    .sign(key);
}
