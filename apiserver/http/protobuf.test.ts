import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKubernetesProtobuf } from './protobuf.ts';

const HEX = '6b3873000a0f0a0276311209436f6e6669674d6170121f0a150a05636d2d706212001a0022002a0032003800420012060a01611201621a002200';

test('decodes the kubectl 1.32 configmap body from kubectl-wire §13', () => {
  assert.deepEqual(decodeKubernetesProtobuf(Buffer.from(HEX, 'hex')),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-pb' }, data: { a: 'b' } });
});

test('bad input is a BadRequest, never a crash', () => {
  const code = (b: Buffer) => { try { decodeKubernetesProtobuf(b); } catch (e) { return (e as { code: string }).code; } return 'none'; };
  assert.equal(code(Buffer.from('{}')), 'BadRequest');
  assert.equal(code(Buffer.from('6b387300ffffffff', 'hex')), 'BadRequest');
  assert.equal(code(Buffer.from('6b3873000a0d0a0276311207556e6b6e6f776e', 'hex')), 'BadRequest');
});
