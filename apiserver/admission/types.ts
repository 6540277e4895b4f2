// What an admission plugin is and what it sees: its own module, so the plugins' files and the list of
// them (index.ts) need not import each other.
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { RequestContext } from '../registry/types.ts';

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE';
  info: ResourceInfo;
  namespace: string | undefined;
  /** The object as it will be stored (a mutating plugin may change it). */
  object: KubeObject;
  /** UPDATE: the stored object. */
  oldObject?: KubeObject;
  /** Absent for writes the registry makes on its own behalf (a scale's update). */
  ctx?: RequestContext;
  dryRun: boolean;
}

export interface AdmissionPlugin {
  name: string;
  /** Mutating admission, before defaulting and validation: throws the ApiError the request fails with; may change attrs.object. */
  admit?(attrs: AdmissionAttributes): Promise<void> | void;
  /**
   * Validating admission, after the kind's defaulting and validation (a generated name is set by then), as
   * kube-apiserver's validating phase: may refuse, never change the object. CREATE only.
   */
  validate?(attrs: AdmissionAttributes): Promise<void> | void;
}
