// CustomResourceDefinitions (apiextensions-apiserver's strategy): defaults and Kubernetes' validation of a CRD
// (apiserver/crd/definition.ts); its status is the CRD controller's (apiserver/crd/controller.ts).
import { defaultCRD, validateCRD, validateCRDUpdate } from '../crd/definition.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Kind } from './kind.ts';

export const customresourcedefinitions: Kind = {
  defaults: (obj) => defaultCRD(obj as KubeObject),
  prepareForCreate(obj) { obj.status = {}; },
  validate: (obj) => validateCRD(obj as KubeObject),
  validateUpdate: validateCRDUpdate,
  tracksGeneration: true,
};
