// The ServiceAccount token signing key `kubemu up` makes on a cluster's first start (the apiserver's
// --service-account-signing-key-file and --service-account-key-file, apiserver/auth/service-account-tokens.ts).
import crypto from 'node:crypto';

/** A fresh signing key pair (EC P-256) in PEM: `kubemu up` writes it once into <dir>/pki/. */
export function newSigningKeyPem(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}
