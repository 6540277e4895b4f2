import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitImageRef } from './image-ref.ts';

test('image references: a registry port is not a tag; tags and digests split as Docker does', () => {
  assert.deepEqual(splitImageRef('127.0.0.1:5000/app'), { repository: '127.0.0.1:5000/app', tag: 'latest' });
  assert.deepEqual(splitImageRef('localhost:5000/team/app:v2'), { repository: 'localhost:5000/team/app', tag: 'v2' });
  assert.deepEqual(splitImageRef('nginx'), { repository: 'nginx', tag: 'latest' });
  assert.deepEqual(splitImageRef('nginx:1.27'), { repository: 'nginx', tag: '1.27' });
  assert.deepEqual(splitImageRef('busybox@sha256:abc'), { repository: 'busybox', tag: 'sha256:abc' });
});
