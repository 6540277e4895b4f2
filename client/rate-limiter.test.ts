import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ItemExponentialRateLimiter } from './rate-limiter.ts';

test('back-off doubles per item, caps, and forget resets', () => {
  const rl = new ItemExponentialRateLimiter<string>({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')], [10, 20, 40, 50]);
  assert.equal(rl.when('b'), 10);
  assert.equal(rl.numRequeues('a'), 4);
  rl.forget('a');
  assert.equal(rl.numRequeues('a'), 0);
  assert.equal(rl.when('a'), 10);
});

test('rejects invalid options', () => {
  assert.throws(() => new ItemExponentialRateLimiter({ baseDelayMs: 0 }));
});
