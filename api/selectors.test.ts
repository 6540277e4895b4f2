import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorToString, parseLabelSelector, selectorFromLabelSelector } from './selectors.ts';

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
