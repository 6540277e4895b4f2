// A CustomResourceDefinition itself: its defaults, Kubernetes' validation of it (names, scope, versions, the
// structural schema, CEL rules that compile) (api/custom-kinds.ts makes its kinds).
import type { FieldError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { ruleCompileErrors } from './cel.ts';
import { structuralErrors } from './schema.ts';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

/** What the apiextensions defaulter fills in. */
export function defaultCRD(crd: KubeObject): void {
  const spec = crd.spec;
  if (!isObj(spec)) return;
  const names = isObj(spec.names) ? spec.names : undefined;
  if (names?.kind && !names.singular) names.singular = String(names.kind).toLowerCase();
  if (names?.kind && !names.listKind) names.listKind = `${names.kind}List`;
  spec.conversion ??= { strategy: 'None' };
  for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
    if (!isObj(v)) continue;
    const sub = v.subresources;
    if (isObj(sub?.scale) && !sub.scale.labelSelectorPath) delete sub.scale.labelSelectorPath;
  }
}

const req = (field: string, detail = 'Required value'): FieldError => ({ type: 'FieldValueRequired', field, detail });
const inv = (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, detail: `Invalid value: ${JSON.stringify(value)}: ${detail}` });

/** Kubernetes' ValidateCustomResourceDefinition, the parts kubemu serves. */
export function validateCRD(crd: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec;
  if (!isObj(spec)) return [req('spec')];
  const names: Obj = isObj(spec.names) ? spec.names : {};
  if (!spec.group) errs.push(req('spec.group'));
  else if (!DNS1123_SUBDOMAIN.test(spec.group)) errs.push(inv('spec.group', spec.group, 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character'));
  else if (!String(spec.group).includes('.')) errs.push(inv('spec.group', spec.group, 'should be a domain with at least one dot'));
  if (!names.plural) errs.push(req('spec.names.plural'));
  else if (!DNS1035.test(names.plural)) errs.push(inv('spec.names.plural', names.plural, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character'));
  if (names.singular && !DNS1035.test(names.singular)) errs.push(inv('spec.names.singular', names.singular, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character'));
  if (!names.kind) errs.push(req('spec.names.kind'));
  else if (!KIND.test(names.kind)) errs.push(inv('spec.names.kind', names.kind, 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character'));
  if (names.listKind && names.listKind === names.kind) errs.push(inv('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));
  for (const [i, sn] of (Array.isArray(names.shortNames) ? names.shortNames : []).entries()) {
    if (!DNS1035.test(String(sn))) errs.push(inv(`spec.names.shortNames[${i}]`, sn, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character'));
  }
  if (spec.group && names.plural && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    errs.push(inv('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) {
    errs.push(spec.scope ? { type: 'FieldValueNotSupported', field: 'spec.scope', detail: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"` } : req('spec.scope'));
  }
  // kubemu converts between versions only by rewriting apiVersion: a conversion webhook is refused, not ignored
  const strategy = isObj(spec.conversion) ? spec.conversion.strategy : undefined;
  if (strategy !== undefined && strategy !== 'None') {
    errs.push({ type: 'FieldValueNotSupported', field: 'spec.conversion.strategy', detail: `Unsupported value: ${JSON.stringify(strategy)}: supported values: "None" (kubemu runs no conversion webhooks)` });
  }
  const versions: Obj[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (!versions.length) errs.push(inv('spec.versions', spec.versions ?? null, 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v?.storage === true).length !== 1) errs.push(inv('spec.versions', versions.map((v) => v?.name), 'must have exactly one version marked as storage version'));
  if (versions.length && !versions.some((v) => v?.served)) errs.push(inv('spec.versions', versions.map((v) => v?.name), 'must have at least one version marked as served'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!isObj(v)) { errs.push(inv(at, v, 'must be an object')); return; }
    if (!v.name) errs.push(req(`${at}.name`));
    else if (!DNS1035.test(v.name)) errs.push(inv(`${at}.name`, v.name, 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character'));
    else if (seen.has(v.name)) errs.push({ type: 'FieldValueDuplicate', field: `${at}.name`, detail: `Duplicate value: ${JSON.stringify(v.name)}` });
    seen.add(v.name);
    const schema = v.schema?.openAPIV3Schema;
    if (!isObj(schema)) errs.push(req(`${at}.schema.openAPIV3Schema`, 'Required value: schemas are required'));
    else {
      errs.push(...structuralErrors(schema, `${at}.schema.openAPIV3Schema`));
      errs.push(...ruleCompileErrors(schema, `${at}.schema.openAPIV3Schema`));
    }
    const scale = v.subresources?.scale;
    if (isObj(scale)) {
      if (!scale.specReplicasPath) errs.push(req(`${at}.subresources.scale.specReplicasPath`));
      else if (!String(scale.specReplicasPath).startsWith('.spec.')) errs.push(inv(`${at}.subresources.scale.specReplicasPath`, scale.specReplicasPath, 'should be a json path under .spec'));
      if (!scale.statusReplicasPath) errs.push(req(`${at}.subresources.scale.statusReplicasPath`));
      else if (!String(scale.statusReplicasPath).startsWith('.status.')) errs.push(inv(`${at}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath, 'should be a json path under .status'));
    }
    for (const [j, c] of (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).entries()) {
      const cat = `${at}.additionalPrinterColumns[${j}]`;
      if (!c?.name) errs.push(req(`${cat}.name`));
      if (!c?.jsonPath) errs.push(req(`${cat}.jsonPath`));
      if (!['integer', 'number', 'string', 'boolean', 'date'].includes(c?.type)) {
        errs.push(c?.type ? { type: 'FieldValueNotSupported', field: `${cat}.type`, detail: `Unsupported value: ${JSON.stringify(c.type)}: supported values: "boolean", "date", "integer", "number", "string"` } : req(`${cat}.type`));
      }
    }
  });
  return errs;
}

/** What an update of a CRD may not change (beyond validateCRD): group, plural, scope, versions objects are stored in. */
export function validateCRDUpdate(crd: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec;
  if (!isObj(spec)) return errs;
  const names: Obj = isObj(spec.names) ? spec.names : {};
  const versions: Obj[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (isObj(old.spec)) {
    if (old.spec.group !== spec.group) errs.push(inv('spec.group', spec.group, 'field is immutable'));
    if (old.spec.names?.plural !== names.plural) errs.push(inv('spec.names.plural', names.plural, 'field is immutable'));
    if (old.spec.scope !== spec.scope) errs.push(inv('spec.scope', spec.scope, 'field is immutable'));
    // A version objects are stored in may not be dropped while objects may hold it.
    for (const sv of old.status?.storedVersions ?? []) {
      if (!versions.some((v) => v?.name === sv)) errs.push(inv('status.storedVersions', old.status.storedVersions, `must appear in spec.versions`));
    }
  }
  return errs;
}

