import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorToString, parseFieldSelector, parseLabelSelector, selectorFromLabelSelector } from './selectors.ts';
import { checkFieldSelectorSupported, objectFields } from './fields.ts';
import { findResource } from './resources.ts';

test('label selector grammar: equality and set-based', () => {
  const l = { app: 'web', tier: 'front', env: 'prod' };
  const yes = ['app=web', 'app==web', 'app!=db', 'tier in (front, back)', 'env notin (dev)', 'app', '!missing',
    'app=web,tier in (front),!gpu', '', 'missing!=x', 'missing notin (a)'];
  const no = ['app=db', 'app!=web', 'tier in (back)', 'env notin (prod,dev)', 'missing', '!app', 'missing in (a)'];
  for (const s of yes) assert.equal(parseLabelSelector(s).matches(l), true, s);
  for (const s of no) assert.equal(parseLabelSelector(s).matches(l), false, s);
  assert.equal(parseLabelSelector('').empty(), true);
  assert.equal(parseLabelSelector('tier in (b,a),x').toString(), 'tier in (a,b),x');
});

test('label selector syntax errors are BadRequest', () => {
  for (const s of ['a=b=c', 'a in b', 'in (x)', ',', 'a in ()', '-bad=x', 'a=$$', '==x']) {
    assert.throws(() => parseLabelSelector(s), { code: 'BadRequest' }, s);
  }
});

test('LabelSelector objects: undefined selects nothing, {} everything', () => {
  assert.equal(selectorFromLabelSelector(undefined).matches({ a: 'b' }), false);
  assert.equal(selectorFromLabelSelector({}).matches({}), true);
  const s = selectorFromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] });
  assert.equal(s.matches({ app: 'web', tier: 'b' }), true);
  assert.equal(s.matches({ app: 'web', tier: 'c' }), false);
  assert.equal(labelSelectorToString({ matchLabels: { app: 'web' } }), 'app=web');
});

test('field selectors: parse, match, supported fields per resource', () => {
  const pods = findResource('', 'pods')!;
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  const f = objectFields(pods, pod);
  assert.equal(parseFieldSelector('spec.nodeName=n1,status.phase!=Pending').matches(f), true);
  assert.equal(parseFieldSelector('spec.nodeName==n2').matches(f), false);
  assert.equal(parseFieldSelector('spec.nodeName=').matches(objectFields(pods, { metadata: { name: 'u' } })), true);
  assert.throws(() => parseFieldSelector('nonsense'), { code: 'BadRequest' });
  checkFieldSelectorSupported(pods, ['spec.nodeName', 'metadata.name', 'status.phase']);
  assert.throws(() => checkFieldSelectorSupported(pods, ['spec.containers']), { code: 'BadRequest', message: 'field label not supported: spec.containers' });
  assert.throws(() => checkFieldSelectorSupported(findResource('', 'configmaps')!, ['status.phase']), { code: 'BadRequest' });
});
