import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from './balancer.ts';
import { backendKey, type Backend } from './service-map.ts';

const be = (...names: string[]): Backend[] => names.map((n) => ({ ip: `10.0.0.${n}`, port: 80 }));
/** `n` picks, as the last octet of each backend's IP. */
const picks = (b: Balancer, n: number, clientIp?: string): string[] =>
  Array.from({ length: n }, () => b.next(clientIp)?.ip.split('.')[3] ?? '-');

describe('Balancer', () => {
  test('no backends: undefined', () => {
    assert.equal(new Balancer().next(), undefined);
    assert.equal(new Balancer([], { affinity: { timeoutSeconds: 10 } }).next('1.2.3.4'), undefined);
  });

  test('strict round-robin in sorted order', () => {
    const b = new Balancer(be('3', '1', '2'));
    assert.deepEqual(picks(b, 7), ['1', '2', '3', '1', '2', '3', '1']);
  });

  test('update with the same set keeps the position', () => {
    const b = new Balancer(be('1', '2', '3'));
    assert.deepEqual(picks(b, 2), ['1', '2']);
    b.update(be('3', '2', '1'));
    assert.deepEqual(picks(b, 2), ['3', '1']);
  });

  test('removing a backend continues after the last pick', () => {
    const b = new Balancer(be('1', '2', '3'));
    assert.deepEqual(picks(b, 1), ['1']);
    b.update(be('1', '3'));
    assert.deepEqual(picks(b, 3), ['3', '1', '3']);
    // Removing the one picked last: the next in order still comes next.
    b.update(be('1', '2'));
    assert.deepEqual(picks(b, 2), ['1', '2']);
  });

  test('adding a backend slots it into the rotation', () => {
    const b = new Balancer(be('1', '3'));
    assert.deepEqual(picks(b, 1), ['1']);
    b.update(be('1', '2', '3'));
    assert.deepEqual(picks(b, 4), ['2', '3', '1', '2']);
    b.update(be('1', '2', '3', '4'));
    assert.deepEqual(picks(b, 3), ['3', '4', '1']);
  });

  test('to empty and back', () => {
    const b = new Balancer(be('1', '2'));
    picks(b, 1);
    b.update([]);
    assert.equal(b.next(), undefined);
    b.update(be('1', '2', '3'));
    assert.deepEqual(picks(b, 3), ['2', '3', '1']);
  });

  test('exclude skips tried backends, then gives up', () => {
    const b = new Balancer(be('1', '2', '3'));
    const tried = new Set<string>();
    const order: string[] = [];
    for (let x = b.next(undefined, tried); x; x = b.next(undefined, tried)) { order.push(x.ip); tried.add(backendKey(x)); }
    assert.deepEqual(order, ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  test('ClientIP affinity pins a client; others keep rotating', () => {
    const b = new Balancer(be('1', '2', '3'), { affinity: { timeoutSeconds: 60 } });
    assert.deepEqual(picks(b, 3, '192.168.0.1'), ['1', '1', '1']);
    assert.deepEqual(picks(b, 2, '192.168.0.2'), ['2', '2']);
    assert.deepEqual(picks(b, 1, '192.168.0.3'), ['3']);
    assert.deepEqual(picks(b, 1), ['1']); // no client IP: plain rotation
  });

  test('affinity expires after timeoutSeconds without a new connection', () => {
    let now = 1_000_000;
    const b = new Balancer(be('1', '2'), { affinity: { timeoutSeconds: 10 }, now: () => now });
    assert.deepEqual(picks(b, 1, 'c'), ['1']);
    now += 9_000;
    assert.deepEqual(picks(b, 1, 'c'), ['1']); // refreshed
    now += 9_000;
    assert.deepEqual(picks(b, 1, 'c'), ['1']);
    now += 10_001;
    assert.deepEqual(picks(b, 1, 'c'), ['2']);
  });

  test('affinity to a removed backend is dropped; to a refusing one, moved', () => {
    const b = new Balancer(be('1', '2', '3'), { affinity: { timeoutSeconds: 60 } });
    assert.deepEqual(picks(b, 1, 'c'), ['1']);
    b.update(be('2', '3'), { timeoutSeconds: 60 });
    assert.deepEqual(picks(b, 2, 'c'), ['2', '2']);
    const moved = b.next('c', new Set([backendKey({ ip: '10.0.0.2', port: 80 })]));
    assert.equal(moved?.ip, '10.0.0.3');
    assert.deepEqual(picks(b, 1, 'c'), ['3']);
  });

  test('turning affinity off forgets pins', () => {
    const b = new Balancer(be('1', '2'), { affinity: { timeoutSeconds: 60 } });
    assert.deepEqual(picks(b, 2, 'c'), ['1', '1']);
    b.update(be('1', '2'));
    assert.deepEqual(picks(b, 2, 'c'), ['2', '1']);
  });
});
