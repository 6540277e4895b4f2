// SelfSubjectReviews (authentication.k8s.io/v1): "who am I?" — the caller's user as authentication saw it,
// what `kubectl auth whoami` prints. Never stored.
import type { KubeObject } from '../../api/types.ts';
import type { Kind } from './kind.ts';

export const selfsubjectreviews: Kind = {
  async review(_env, ctx) {
    const { username, uid, groups, extra } = ctx.user;
    return {
      kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null },
      status: { userInfo: { username, ...(uid ? { uid } : {}), groups, ...(extra ? { extra } : {}) } },
    } as unknown as KubeObject;
  },
};
