// schedulingGates in pod validation, with Kubernetes' field paths and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../resources.ts';
import type { KubeObject } from '../types.ts';
import { validateCreate, validateUpdate } from './index.ts';

const PODS = findResource('', 'pods')!;
const pod = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
});
const messages = (errs: Array<{ field: string; detail?: string }>) => errs.map((e) => `${e.field}: ${e.detail ?? ''}`);

test('gates may be removed, never added, after creation', () => {
  const two = pod({ schedulingGates: [{ name: 'a.io/one' }, { name: 'a.io/two' }] });
  assert.deepEqual(validateUpdate(PODS, pod({ schedulingGates: [{ name: 'a.io/two' }] }), two), []);
  assert.deepEqual(validateUpdate(PODS, pod({}), two), []);
  assert.deepEqual(messages(validateUpdate(PODS, pod({ schedulingGates: [{ name: 'a.io/one' }, { name: 'x' }] }), pod({ schedulingGates: [{ name: 'a.io/one' }] }))),
    ["spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'x'"]);
  assert.equal(validateUpdate(PODS, pod({ schedulingGates: [{ name: 'x' }] }), pod({})).length, 1);
});

test('gate names are unique qualified names; a gated pod names no node', () => {
  assert.deepEqual(validateCreate(PODS, pod({ schedulingGates: [{ name: 'example.com/ok' }] })), []);
  const errs = validateCreate(PODS, pod({ schedulingGates: [{ name: 'a' }, { name: 'a' }, { name: 'bad name' }, {}], nodeName: 'n1' }));
  assert.deepEqual(errs.map((e) => [e.type, e.field]), [
    ['FieldValueDuplicate', 'spec.schedulingGates[1].name'], ['FieldValueInvalid', 'spec.schedulingGates[2].name'],
    ['FieldValueRequired', 'spec.schedulingGates[3].name'], ['FieldValueForbidden', 'spec.nodeName'],
  ]);
  assert.match(messages(errs).at(-1)!, /cannot be set until all schedulingGates have been cleared/);
});
