import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './workqueue.ts';

test('dedups queued items', async () => {
  const q = new WorkQueue<string>();
  q.add('a'); q.add('a'); q.add('b');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
});

test('an item being processed is not handed out again until done', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const a = await q.get();
  q.add('a');
  assert.equal(q.len(), 0);
  q.done(a!);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
});

test('addRateLimited uses growing delays; shutdown releases waiters', async () => {
  const delays: number[] = [];
  const q = new WorkQueue<string>({ setTimer: (fn, ms) => { delays.push(ms); fn(); } });
  q.addRateLimited('x'); await q.get(); q.done('x');
  q.addRateLimited('x');
  assert.deepEqual(delays, [5, 10]);
  assert.equal(q.numRequeues('x'), 2);
  q.forget('x');
  assert.equal(q.numRequeues('x'), 0);
  await q.get(); q.done('x');
  const pending = q.get();
  q.shutDown();
  assert.equal(await pending, undefined);
});
