// ServiceAccounts (pkg/registry/core/serviceaccount): kubectl's columns, and the token subresource — the
// TokenRequest API (authentication.k8s.io/v1) that `kubectl create token` and the kubelet call.
import { ApiError, badRequest, conflict, fieldInvalid, invalid, type FieldError } from '../../api/errors.ts';
import { findResource } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { DEFAULT_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS, MIN_EXPIRATION_SECONDS, type BoundObject } from '../auth/service-account-tokens.ts';
import type { CreateSubresource, Kind } from './kind.ts';
import { age } from './printing.ts';

type Obj = Record<string, any>;

const PODS = findResource('', 'pods')!;
const SECRETS = findResource('', 'secrets')!;

/** pkg/apis/authentication/validation: ValidateTokenRequest. */
function validateTokenRequest(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const exp = spec.expirationSeconds;
  if (typeof exp !== 'number' || !Number.isInteger(exp)) errs.push(fieldInvalid('spec.expirationSeconds', exp, 'must be a whole number of seconds'));
  else if (exp < MIN_EXPIRATION_SECONDS) errs.push(fieldInvalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'));
  else if (exp > MAX_EXPIRATION_SECONDS) errs.push(fieldInvalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds'));
  if (spec.audiences !== undefined && (!Array.isArray(spec.audiences) || spec.audiences.some((a: unknown) => typeof a !== 'string'))) {
    errs.push(fieldInvalid('spec.audiences', spec.audiences, 'must be a list of strings'));
  }
  return errs;
}

/** POST serviceaccounts/<name>/token: a signed token for the ServiceAccount, bound to a pod or secret if asked. */
const token: CreateSubresource = async (env, _ctx, ref, body) => {
  const issuer = env.serviceAccountTokens;
  if (!issuer) throw new ApiError('ServiceUnavailable', 'the token subresource is not available: this apiserver has no service account signing key');
  const name = ref.name!;
  const ns = ref.namespace!;
  if (body?.kind !== undefined && body.kind !== 'TokenRequest') throw badRequest(`the body of serviceaccounts/token must be a TokenRequest, not ${body.kind}`);
  // Go clients send unset fields as null (kubectl 1.27: "audiences": null).
  const spec: Obj = Object.fromEntries(Object.entries(body?.spec ?? {}).filter(([, v]) => v !== null));
  spec.expirationSeconds ??= DEFAULT_EXPIRATION_SECONDS;
  const errs = validateTokenRequest(spec);
  if (errs.length) throw invalid('TokenRequest', name, errs, 'authentication.k8s.io');
  const sa = await env.load(ref.info, ns, name);
  let bound: BoundObject | undefined;
  const b: Obj | undefined = spec.boundObjectRef;
  if (b) {
    const core = b.apiVersion === 'v1';
    if (core && b.kind === 'Pod') {
      const pod = await env.load(PODS, ns, b.name);
      const podSA = pod.spec?.serviceAccountName || 'default';
      if (podSA !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with serviceaccount "${podSA}"`);
      bound = { kind: 'Pod', name: b.name, uid: pod.metadata.uid! };
    } else if (core && b.kind === 'Secret') {
      const secret = await env.load(SECRETS, ns, b.name);
      bound = { kind: 'Secret', name: b.name, uid: secret.metadata.uid! };
    } else {
      const [group, version] = String(b.apiVersion ?? '').includes('/') ? String(b.apiVersion).split('/') : ['', b.apiVersion ?? ''];
      throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${b.kind ?? ''}`);
    }
    if (b.uid && b.uid !== bound.uid) {
      throw conflict(b.kind, b.name, undefined, `the UID in the bound object reference (${b.uid}) does not match the UID in record (${bound.uid}). The object might have been deleted and then recreated`);
    }
  }
  const audiences: string[] = spec.audiences?.length ? spec.audiences : issuer.audiences;
  const { token: jwt, expirationTimestamp } = await issuer.issue(sa, audiences, spec.expirationSeconds, bound);
  return {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace: ns, creationTimestamp: null },
    spec: { audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: b ?? null },
    status: { token: jwt, expirationTimestamp },
  } as unknown as KubeObject;
};

export const serviceaccounts: Kind = {
  printer: { columns: [{ name: 'Secrets' }, { name: 'Age' }], cells: (o) => [(o.secrets ?? []).length, age(o.metadata.creationTimestamp)] },
  create: { token },
};
