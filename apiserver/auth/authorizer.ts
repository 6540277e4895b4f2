// Authorization: may this user do this verb on this resource? The seam exists from day one;
// the only implementation so far allows everything (RBAC and node restriction come later).
import type { UserInfo } from '../../api/types.ts';

export interface AuthorizationAttributes {
  user: UserInfo;
  /** get | list | watch | create | update | patch | delete | deletecollection */
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): { allowed: boolean; reason?: string };
}

export function allowAll(): Authorizer {
  return { authorize: () => ({ allowed: true }) };
}
