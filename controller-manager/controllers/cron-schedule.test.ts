// parseCron (cron-parser underneath): field syntax, day-of-month/day-of-week matching, time zones and errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCron } from './cron-schedule.ts';

const utc = (s: string) => new Date(`${s}Z`);
/** The first `n` times after `from`, as ISO strings without milliseconds. */
function times(expr: string, from: string, n: number, tz = 'UTC'): string[] {
  const s = parseCron(expr, tz);
  const out: string[] = [];
  let t = utc(from);
  for (let i = 0; i < n; i++) { t = s.next(t); out.push(t.toISOString().replace('.000Z', 'Z')); }
  return out;
}

describe('parseCron', () => {
  test('every minute: the next whole minute, strictly after', () => {
    assert.deepEqual(times('* * * * *', '2024-01-01T10:00:00', 2), ['2024-01-01T10:01:00Z', '2024-01-01T10:02:00Z']);
    assert.deepEqual(times('*/1 * * * *', '2024-01-01T10:00:30.500', 1), ['2024-01-01T10:01:00Z']);
  });

  test('steps, ranges, lists and N/step', () => {
    assert.deepEqual(times('*/15 * * * *', '2024-01-01T10:07:00', 3), ['2024-01-01T10:15:00Z', '2024-01-01T10:30:00Z', '2024-01-01T10:45:00Z']);
    assert.deepEqual(times('5/20 9-10 * * *', '2024-01-01T09:30:00', 4), ['2024-01-01T09:45:00Z', '2024-01-01T10:05:00Z', '2024-01-01T10:25:00Z', '2024-01-01T10:45:00Z']);
    assert.deepEqual(times('0 1,13 * * *', '2024-01-01T02:00:00', 2), ['2024-01-01T13:00:00Z', '2024-01-02T01:00:00Z']);
    assert.deepEqual(times('0 0-12/6 * * *', '2024-01-01T00:00:00', 3), ['2024-01-01T06:00:00Z', '2024-01-01T12:00:00Z', '2024-01-02T00:00:00Z']);
  });

  test('names for months and weekdays, 7 is Sunday', () => {
    // 2024-01-01 is a Monday.
    assert.deepEqual(times('30 8 * * MON-FRI', '2024-01-05T09:00:00', 2), ['2024-01-08T08:30:00Z', '2024-01-09T08:30:00Z']);
    assert.deepEqual(times('0 0 * * 7', '2024-01-01T00:00:00', 1), ['2024-01-07T00:00:00Z']);
    assert.deepEqual(times('0 0 * * sun', '2024-01-01T00:00:00', 1), ['2024-01-07T00:00:00Z']);
    assert.deepEqual(times('0 0 1 jan,Jul *', '2024-02-01T00:00:00', 2), ['2024-07-01T00:00:00Z', '2025-01-01T00:00:00Z']);
  });

  test('day of month and day of week: either matches when both are restricted, both when one is *', () => {
    // The 13th, or any Friday.
    assert.deepEqual(times('0 0 13 * 5', '2024-01-01T00:00:00', 3), ['2024-01-05T00:00:00Z', '2024-01-12T00:00:00Z', '2024-01-13T00:00:00Z']);
    assert.deepEqual(times('0 0 13 * *', '2024-01-01T00:00:00', 2), ['2024-01-13T00:00:00Z', '2024-02-13T00:00:00Z']);
    // A */2 day of week is a restriction, not a star.
    assert.deepEqual(times('0 0 31 * */2', '2024-01-01T00:00:00', 2), ['2024-01-02T00:00:00Z', '2024-01-04T00:00:00Z']);
  });

  test('leap days and month ends', () => {
    assert.deepEqual(times('0 0 29 2 *', '2024-03-01T00:00:00', 1), ['2028-02-29T00:00:00Z']);
    assert.deepEqual(times('0 12 31 * *', '2024-04-01T00:00:00', 1), ['2024-05-31T12:00:00Z']);
    assert.throws(() => parseCron('0 0 30 2 *', 'UTC').next(utc('2024-01-01T00:00:00')), /Invalid explicit day of month/); // never due
  });

  test('time zones: wall-clock times in the zone, across a DST change', () => {
    // New York is UTC-5 in winter, UTC-4 from 2024-03-10.
    assert.deepEqual(times('0 9 * * *', '2024-03-08T00:00:00', 3, 'America/New_York'),
      ['2024-03-08T14:00:00Z', '2024-03-09T14:00:00Z', '2024-03-10T13:00:00Z']);
    // Clocks go back at 02:00 on 2024-11-03: 01:30 happens twice but fires once (as Vixie cron).
    assert.deepEqual(times('30 1 * * *', '2024-11-03T04:00:00', 2, 'America/New_York'),
      ['2024-11-03T05:30:00Z', '2024-11-04T06:30:00Z']);
    // Clocks go forward at 02:00 on 2024-03-10: 02:30 does not exist that day; it fires an hour on.
    assert.deepEqual(times('30 2 * * *', '2024-03-10T00:00:00', 2, 'America/New_York'),
      ['2024-03-10T07:30:00Z', '2024-03-11T06:30:00Z']);
  });

  test('descriptors: @daily, @hourly, … as the 5-field schedules they stand for; @every as a constant delay', () => {
    const at = (expr: string, from: string) => parseCron(expr, 'UTC').next(utc(from)).toISOString();
    assert.equal(at('@hourly', '2024-01-01T10:15:00'), '2024-01-01T11:00:00.000Z');
    assert.equal(at('@daily', '2024-01-01T10:15:00'), '2024-01-02T00:00:00.000Z');
    assert.equal(at('@midnight', '2024-01-01T10:15:00'), '2024-01-02T00:00:00.000Z');
    assert.equal(at('@weekly', '2024-01-01T10:15:00'), '2024-01-07T00:00:00.000Z');
    assert.equal(at('@monthly', '2024-01-01T10:15:00'), '2024-02-01T00:00:00.000Z');
    assert.equal(at('@yearly', '2024-01-01T10:15:00'), '2025-01-01T00:00:00.000Z');
    assert.equal(at('@annually', '2024-01-01T10:15:00'), '2025-01-01T00:00:00.000Z');
    assert.equal(at('@every 1h30m', '2024-01-01T10:15:00'), '2024-01-01T11:45:00.000Z');
  });

  test('bad syntax throws a clear error', () => {
    assert.throws(() => parseCron('* * * *'), /expected exactly 5 fields, found 4/);
    assert.throws(() => parseCron('60 * * * *'), /"60 \* \* \* \*": Constraint error, got value 60 expected range 0-59/);
    assert.throws(() => parseCron('* * * * FOO'), /cannot resolve alias "foo"/);
    assert.throws(() => parseCron('*/0 * * * *'), /cannot repeat at every 0 time/);
    assert.throws(() => parseCron('5-1 * * * *'), /Invalid range: 5-1, min\(5\) > max\(1\)/);
    assert.throws(() => parseCron('1-2-3 * * * *'), /Invalid range: 1-2-3/);
    assert.throws(() => parseCron('@fortnightly'), /unrecognized descriptor: @fortnightly/);
    assert.throws(() => parseCron('@every 5x'), /failed to parse duration/);
    assert.throws(() => parseCron('* * * * *', 'Mars/Olympus'), /unknown time zone "Mars\/Olympus"/);
  });
});
