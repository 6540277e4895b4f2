// ServiceAccount tokens, as kube-apiserver issues and checks them: JWTs signed with the service-account
// signing key (ES256 or RS256), issued by the TokenRequest API (serviceaccounts/NAME/token) with an audience, an
// expiry and optionally a bound Pod or Secret, and accepted as bearer tokens only while the ServiceAccount — and
// the object the token is bound to — still exist with the same uid (pkg/serviceaccount/claims.go, jwt.go).
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { SignJWT, jwtVerify, decodeJwt, decodeProtectedHeader, errors as joseErrors } from 'jose';
import type { KubeObject, UserInfo } from '../../api/types.ts';
import { LEGACY_ISSUER, algOf, keyId } from '../../lib/service-account-key.ts';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** TokenRequest's default expirationSeconds and bounds (pkg/apis/authentication/validation). */
export const DEFAULT_EXPIRATION_SECONDS = 3600;
export const MIN_EXPIRATION_SECONDS = 600;
export const MAX_EXPIRATION_SECONDS = 2 ** 32;

/** How the authenticator looks up what a token names (the registry's objects, read without authorization). */
export interface TokenLookup {
  get(resource: 'serviceaccounts' | 'pods' | 'secrets', namespace: string, name: string): Promise<KubeObject | undefined>;
}

export interface BoundObject { kind: 'Pod' | 'Secret'; name: string; uid: string }

interface PrivateClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
}

export { keyId };

/** A PEM file with a private key (the signing key) or public keys (the verification keys). */
export function readPrivateKey(file: string): KeyObject {
  return crypto.createPrivateKey(fs.readFileSync(file));
}
export function readPublicKeys(file: string): KeyObject[] {
  const pem = fs.readFileSync(file, 'utf8');
  const blocks = pem.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
  if (!blocks.length) throw new Error(`${file}: no PEM key found`);
  return blocks.map((b) => crypto.createPublicKey(b));
}

export class ServiceAccountTokens {
  private readonly alg: 'ES256' | 'RS256';
  private readonly kid: string;
  private readonly verifiers: Array<{ kid: string; key: KeyObject }>;

  constructor(private readonly o: { signingKey: KeyObject; publicKeys?: KeyObject[]; issuer?: string; audiences?: string[]; lookup: TokenLookup }) {
    this.alg = algOf(o.signingKey);
    const own = crypto.createPublicKey(o.signingKey);
    this.kid = keyId(own);
    this.verifiers = [own, ...(o.publicKeys ?? [])].map((key) => ({ kid: keyId(key), key }));
  }

  get issuer(): string { return this.o.issuer ?? DEFAULT_ISSUER; }
  /** The audiences the API itself accepts (--api-audiences; default the issuer), and a TokenRequest's default. */
  get audiences(): string[] { return this.o.audiences?.length ? this.o.audiences : [this.issuer]; }

  /** A bound token for `sa` (claims as Kubernetes' Claims()): the JWT and its expiry. */
  async issue(sa: KubeObject, audiences: string[], expirationSeconds: number, bound?: BoundObject): Promise<{ token: string; expirationTimestamp: string }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expirationSeconds;
    const k8s: PrivateClaims = { namespace: sa.metadata.namespace!, serviceaccount: { name: sa.metadata.name!, uid: sa.metadata.uid! } };
    if (bound?.kind === 'Pod') k8s.pod = { name: bound.name, uid: bound.uid };
    if (bound?.kind === 'Secret') k8s.secret = { name: bound.name, uid: bound.uid };
    const token = await new SignJWT({ 'kubernetes.io': k8s })
      .setProtectedHeader({ alg: this.alg, kid: this.kid })
      .setIssuer(this.issuer).setSubject(`system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`)
      .setAudience(audiences).setIssuedAt(now).setNotBefore(now).setExpirationTime(exp).setJti(crypto.randomUUID())
      .sign(this.o.signingKey);
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  /**
   * A legacy token (pkg/serviceaccount/legacy.go): signed by one of the keys, for the API's own audiences only, and
   * valid only while its Secret holds this very token and names the ServiceAccount, which still has the claimed uid.
   */
  private async authenticateLegacy(token: string, kid: string | undefined, audiences: string[]): Promise<{ user: UserInfo; audiences: string[] } | { error: string }> {
    let payload: Record<string, any> | undefined;
    for (const { key } of this.verifiers.filter((v) => !kid || v.kid === kid)) {
      try { ({ payload } = await jwtVerify(token, key, { issuer: LEGACY_ISSUER, algorithms: [algOf(key)] })); break; } catch { /* next key */ }
    }
    if (!payload) return { error: 'invalid bearer token, signature is invalid' };
    const matched = audiences.filter((a) => this.audiences.includes(a));
    if (!matched.length) return { error: 'token audiences do not match the API\'s' };
    const ns = payload['kubernetes.io/serviceaccount/namespace'];
    const secretName = payload['kubernetes.io/serviceaccount/secret.name'];
    const saName = payload['kubernetes.io/serviceaccount/service-account.name'];
    const saUid = payload['kubernetes.io/serviceaccount/service-account.uid'];
    if (![ns, secretName, saName, saUid].every((v) => typeof v === 'string' && v)) return { error: 'token has no kubernetes.io/serviceaccount claims' };
    const secret = await this.o.lookup.get('secrets', ns, secretName);
    if (!secret || secret.metadata.deletionTimestamp || secret.metadata.annotations?.['kubernetes.io/service-account.uid'] !== saUid) return { error: 'token has been invalidated' };
    const stored = (secret as { data?: Record<string, string> }).data?.token;
    if (!stored || Buffer.from(stored, 'base64').toString() !== token) return { error: 'token does not match server\'s copy' };
    const sa = await this.o.lookup.get('serviceaccounts', ns, saName);
    if (!sa) return { error: `serviceaccounts "${saName}" not found` };
    if (sa.metadata.deletionTimestamp) return { error: `ServiceAccount ${ns}/${saName} has been deleted` };
    if (sa.metadata.uid !== saUid) return { error: `ServiceAccount UID (${sa.metadata.uid}) does not match claim (${saUid})` };
    return {
      audiences: matched,
      user: {
        username: `system:serviceaccount:${ns}:${saName}`, uid: saUid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      },
    };
  }

  /**
   * The user a bearer token is, or why it is not one of ours. `audiences`: what the caller accepts (the API's own
   * by default; a TokenReview may name others). A token that is not a JWT is `notMine`, so other authenticators try.
   */
  async authenticate(token: string, audiences = this.audiences): Promise<{ user: UserInfo; audiences: string[] } | { error: string; notMine?: boolean }> {
    let header;
    try {
      header = decodeProtectedHeader(token);
      const iss = decodeJwt(token).iss;
      if (iss === LEGACY_ISSUER) return this.authenticateLegacy(token, header.kid, audiences);
      // As Kubernetes' JWT authenticator: a token of another issuer is not for this one to judge.
      if (iss !== this.issuer) return { error: 'token issuer is not this cluster\'s', notMine: true };
    } catch { return { error: 'not a JWT', notMine: true }; }
    // Only the algorithms the keys are for: `none`, HS256 with a public key as secret and the like never verify.
    const candidates = this.verifiers.filter((v) => !header.kid || v.kid === header.kid);
    let payload: Record<string, any> | undefined;
    let why = 'invalid bearer token';
    for (const { key } of candidates) {
      try {
        ({ payload } = await jwtVerify(token, key, { issuer: this.issuer, algorithms: [algOf(key)] }));
        break;
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) { why = 'service account token has expired'; break; }
        why = 'invalid bearer token, signature is invalid';
      }
    }
    if (!payload) return { error: why };
    const aud: string[] = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
    const matched = aud.filter((a) => audiences.includes(a));
    if (!matched.length) return { error: 'token audiences do not match the API\'s' };
    const k8s = payload['kubernetes.io'] as PrivateClaims | undefined;
    if (!k8s?.namespace || !k8s.serviceaccount?.name) return { error: 'token has no kubernetes.io claims' };
    // Valid while what it names is there: the ServiceAccount, and the pod or secret it was bound to.
    const sa = await this.o.lookup.get('serviceaccounts', k8s.namespace, k8s.serviceaccount.name);
    if (!sa || sa.metadata.uid !== k8s.serviceaccount.uid) return { error: `serviceaccounts "${k8s.serviceaccount.name}" not found` };
    for (const [resource, ref] of [['pods', k8s.pod], ['secrets', k8s.secret]] as const) {
      if (!ref) continue;
      const obj = await this.o.lookup.get(resource, k8s.namespace, ref.name);
      if (!obj || obj.metadata.uid !== ref.uid) return { error: `${resource} "${ref.name}" not found` };
      if (obj.metadata.deletionTimestamp && Date.parse(obj.metadata.deletionTimestamp) <= Date.now()) {
        return { error: `${resource} "${ref.name}" is marked for deletion` };
      }
    }
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${payload.jti}`] };
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    return {
      audiences: matched,
      user: {
        username: `system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`, uid: k8s.serviceaccount.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${k8s.namespace}`, 'system:authenticated'], extra,
      },
    };
  }
}
