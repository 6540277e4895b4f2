// x509 client-certificate authentication, kube-apiserver's --client-ca-file: a certificate that node:tls
// verified against the client CA names the user (CN) and groups (O). A certificate that did not verify
// (another CA, expired, not for client auth) authenticates nobody: the request falls to the token
// authenticators, and without a valid token it is 401, as in Kubernetes.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { UserInfo } from '../../api/types.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const byConnection = new WeakMap<TLSSocket, UserInfo | undefined>();

/** The verified client certificate's user of a TLS connection; undefined for none, or for one that does not verify. */
export function certificateUser(socket: unknown): UserInfo | undefined {
  const tls = socket as TLSSocket;
  if (!tls?.encrypted) return undefined;
  if (byConnection.has(tls)) return byConnection.get(tls);
  const user = tls.authorized ? userOf(tls.getPeerCertificate()) : undefined;
  byConnection.set(tls, user);
  return user;
}

/** CN = user, O = groups; certificates whose extended key usage excludes client auth name nobody. */
export function userOf(cert: PeerCertificate | undefined): UserInfo | undefined {
  if (!cert?.subject?.CN) return undefined;
  const eku = (cert as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage;
  if (eku && !eku.includes(CLIENT_AUTH)) return undefined;
  const cn = cert.subject.CN;
  const o = cert.subject.O;
  const groups = (Array.isArray(o) ? o : o ? [o] : []).filter(Boolean);
  return { username: Array.isArray(cn) ? cn[0] : cn, groups: [...groups, 'system:authenticated'] };
}
