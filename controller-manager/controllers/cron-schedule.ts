// CronJob schedules, as the CronJob controller reads them (robfig/cron's ParseStandard): 5-field cron expressions
// (parsed and stepped by `cron-parser`: `*`, `?`, lists, ranges, steps, names, 7 as Sunday, the day-of-month /
// day-of-week OR), the @yearly … @hourly descriptors and `@every <duration>`. Times are wall-clock times in
// `timeZone` (default: this process's local zone, as kube-controller-manager uses time.Local), across DST changes.
import { CronExpressionParser } from 'cron-parser';

export interface CronSchedule {
  /** The first scheduled time strictly after `after` (whole minutes). */
  next(after: Date): Date;
}

/** robfig/cron's descriptors, which Kubernetes' CronJob accepts (cron.ParseStandard). */
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** `@every <duration>`: a constant delay, whole seconds of at least one, from the time asked about (robfig/cron). */
function everySchedule(duration: string): CronSchedule {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  const ms = m && duration ? ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 : NaN;
  if (!Number.isFinite(ms)) throw new Error(`failed to parse duration @every ${duration}`);
  const delay = Math.max(1000, ms);
  return { next: (after: Date) => new Date(Math.floor(after.getTime() / 1000) * 1000 + delay) };
}

/** Parse `expr`; throws an Error that says what is wrong. `timeZone` is an IANA name. */
export function parseCron(expr: string, timeZone?: string): CronSchedule {
  const trimmed = expr.trim();
  const every = /^@every\s+(\S+)$/.exec(trimmed);
  if (every) return everySchedule(every[1]!);
  if (trimmed.startsWith('@') && !DESCRIPTORS[trimmed]) throw new Error(`unrecognized descriptor: ${trimmed}`);
  const fields = (DESCRIPTORS[trimmed] ?? trimmed).split(/\s+/);
  // cron-parser also takes a seconds field; ParseStandard takes exactly five.
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: ${JSON.stringify(expr)}`);
  const tz = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); } catch { throw new Error(`unknown time zone ${JSON.stringify(timeZone)}`); }
  const parse = (after: Date) => CronExpressionParser.parse(fields.join(' '), { currentDate: after, tz });
  try { parse(new Date()); } catch (err) { throw new Error(`${JSON.stringify(expr)}: ${(err as Error).message}`); }
  return { next: (after) => parse(after).next().toDate() };
}
