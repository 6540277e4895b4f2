import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelector } from '../../api/selectors.ts';
import { findResource } from '../../api/resources.ts';
import { checkFieldSelectorSupported, objectFields } from './fields.ts';

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
