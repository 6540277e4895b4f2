// TokenReviews (authentication.k8s.io/v1, pkg/registry/authentication/tokenreview): "who is this token?" answered
// by the apiserver's own token authenticators — how a kubelet or a webhook checks a bearer token it was given.
// Never stored.
import { badRequest } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Kind } from './kind.ts';

export const tokenreviews: Kind = {
  async review(env, _ctx, body) {
    const spec = body.spec ?? {};
    if (typeof spec.token !== 'string' || !spec.token) throw badRequest('token is required for TokenReview in authentication');
    const audiences: string[] | undefined = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences : undefined;
    const answer = env.reviewToken ? await env.reviewToken(spec.token, audiences) : { error: 'no token authenticator is configured' };
    const status = 'user' in answer
      ? { authenticated: true, user: answer.user, audiences: answer.audiences }
      : { user: {}, error: answer.error };
    return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status } as unknown as KubeObject;
  },
};
