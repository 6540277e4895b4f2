// Validation of what the scheduler reads in a pod spec: schedulingGates, pod (anti-)affinity terms and topology
// spread constraints, with Kubernetes' field paths and messages (gates on update: apiserver/kinds/pods.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError } from '../errors.ts';
import { validatePodSpec } from './index.ts';

const pod = (spec: Record<string, unknown>) => ({ containers: [{ name: 'c', image: 'i' }], ...spec });
const check = (spec: Record<string, unknown>): FieldError[] => { const errs: FieldError[] = []; validatePodSpec('spec', spec, errs); return errs; };
const messages = (errs: Array<{ field: string; detail?: string }>) => errs.map((e) => `${e.field}: ${e.detail ?? ''}`);

test('gate names are unique qualified names; a gated pod names no node', () => {
  assert.deepEqual(check(pod({ schedulingGates: [{ name: 'example.com/ok' }] })), []);
  const errs = check(pod({ schedulingGates: [{ name: 'a' }, { name: 'a' }, { name: 'bad name' }, {}], nodeName: 'n1' }));
  assert.deepEqual(errs.map((e: FieldError) => [e.type, e.field]), [
    ['FieldValueDuplicate', 'spec.schedulingGates[1].name'], ['FieldValueInvalid', 'spec.schedulingGates[2].name'],
    ['FieldValueRequired', 'spec.schedulingGates[3].name'], ['FieldValueForbidden', 'spec.nodeName'],
  ]);
  assert.match(messages(errs).at(-1)!, /cannot be set until all schedulingGates have been cleared/);
});

test('pod affinity terms: a topologyKey, weights 1-100, valid selectors and namespaces', () => {
  const ok = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  assert.deepEqual(check(pod({ affinity: ok })), []);
  const bad = {
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: 'a', operator: 'Gt' }] }, topologyKey: '' }] },
    podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, podAffinityTerm: { topologyKey: 'zone', namespaces: ['Bad_NS'], matchLabelKeys: ['app'] } }] },
  };
  assert.deepEqual(messages(check(pod({ affinity: bad }))), [
    'spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty',
    'spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.namespaces[0]: Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.matchLabelKeys: Forbidden: must not be specified when labelSelector is not set',
  ]);
});

test('topology spread constraints: maxSkew, topologyKey, whenUnsatisfiable, duplicates, minDomains, policies', () => {
  const c = (x: Record<string, unknown>) => ({ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } }, ...x });
  assert.deepEqual(check(pod({ topologySpreadConstraints: [c({ minDomains: 2 }), c({ whenUnsatisfiable: 'ScheduleAnyway' })] })), []);
  assert.deepEqual(messages(check(pod({ topologySpreadConstraints: [
    c({ maxSkew: 0, topologyKey: '' }), c({ whenUnsatisfiable: 'Sometimes', nodeAffinityPolicy: 'Maybe' }), c({}), c({}), c({ whenUnsatisfiable: 'ScheduleAnyway', minDomains: 0 }),
  ] }))), [
    'spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero',
    'spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty',
    'spec.topologySpreadConstraints[1].whenUnsatisfiable: Unsupported value: "Sometimes": supported values: "DoNotSchedule", "ScheduleAnyway"',
    'spec.topologySpreadConstraints[1].nodeAffinityPolicy: Unsupported value: "Maybe": supported values: "Honor", "Ignore"',
    'spec.topologySpreadConstraints[2].{topologyKey, whenUnsatisfiable}: Duplicate value: "{zone, DoNotSchedule}"',
    'spec.topologySpreadConstraints[4].minDomains: Invalid value: 0: must be greater than zero',
    'spec.topologySpreadConstraints[4].minDomains: Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway',
  ]);
});
