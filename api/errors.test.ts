// Status bodies byte for byte as kube-apiserver's own tests expect them
// (k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorToStatus, statusToError } from './errors.ts';
import { goJson } from '../apiserver/http/go-json.ts';

test('a Forbidden Status, with details {} and with a name and kind, encodes as kube-apiserver writes it', () => {
  const path = new ApiError('Forbidden', 'forbidden: User "NAME" cannot GET path "/whatever"', {});
  assert.equal(goJson(errorToStatus(path)),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"NAME\\" cannot GET path \\"/whatever\\"","reason":"Forbidden","details":{},"code":403}\n');
  // Go escapes <, > and & inside strings.
  assert.equal(goJson({ message: 'a<b>&c' }), '{"message":"a\\u003cb\\u003e\\u0026c"}\n');
  const named = new ApiError('Forbidden', 'pod "mypod" is forbidden: User "NAME" cannot get resource "pod" in API group "" at the cluster scope', { kind: 'pod', name: 'mypod', group: '' });
  assert.equal(goJson(errorToStatus(named)),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pod \\"mypod\\" is forbidden: User \\"NAME\\" cannot get resource \\"pod\\" in API group \\"\\" at the cluster scope","reason":"Forbidden","details":{"name":"mypod","kind":"pod"},"code":403}\n');
});

test('an error without details has no details field; a Status read back is the same error', () => {
  const err = new ApiError('BadRequest', 'bad');
  const status = errorToStatus(err);
  assert.deepEqual(Object.keys(status), ['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'code']);
  const back = statusToError(JSON.parse(goJson(status)));
  assert.equal(back.code, 'BadRequest');
  assert.equal(back.message, 'bad');
});
