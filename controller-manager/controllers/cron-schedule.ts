// Standard 5-field cron schedules (minute hour day-of-month month day-of-week), as the CronJob
// controller reads them (robfig/cron's ParseStandard): `*`, `?`, lists, ranges, steps, `N/step`
// (= N-max/step), names (JAN-DEC, SUN-SAT, case-insensitive), 7 as Sunday. The @hourly-style
// descriptors and @every are not supported. Times are wall-clock times in `timeZone` (default:
// this process's local zone, as kube-controller-manager uses time.Local).

export interface CronSchedule {
  /** The first scheduled time strictly after `after` (whole minutes). */
  next(after: Date): Date;
}

interface Field { name: string; min: number; max: number; names?: string[] }
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** One field: the set of values it allows and whether it was a bare `*` (which changes day matching). */
function parseField(expr: string, f: Field): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  // `*` and `N/step` run to the field's end; Sunday is 0 there (7 is only an explicit alias).
  const top = f.name === 'day of week' ? 6 : f.max;
  const num = (s: string): number => {
    const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + (f.name === 'month' ? 1 : 0);
    if (!/^\d+$/.test(s)) throw new Error(`failed to parse ${f.name} ${JSON.stringify(s)} in ${JSON.stringify(expr)}`);
    return Number(s);
  };
  for (const part of expr.split(',')) {
    const [range, stepStr, extra] = part.split('/');
    if (extra !== undefined || range === '') throw new Error(`invalid ${f.name} ${JSON.stringify(part)}`);
    const step = stepStr === undefined ? 1 : Number(stepStr);
    if (!Number.isInteger(step) || step < 1 || (stepStr !== undefined && !/^\d+$/.test(stepStr))) throw new Error(`invalid step ${JSON.stringify(stepStr)} in ${f.name} ${JSON.stringify(part)}`);
    let lo: number, hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [f.min, top];
      if (step === 1) star = true;
    } else {
      const [a, b, more] = range.split('-');
      if (more !== undefined || a === '' || b === '') throw new Error(`invalid range ${JSON.stringify(range)} in ${f.name}`);
      lo = num(a);
      hi = b !== undefined ? num(b) : stepStr !== undefined ? top : lo;
    }
    if (lo < f.min || hi > f.max) throw new Error(`${f.name} ${JSON.stringify(part)} is out of range ${f.min}-${f.max}`);
    if (lo > hi) throw new Error(`beginning of range (${lo}) beyond end of range (${hi}): ${JSON.stringify(part)}`);
    for (let v = lo; v <= hi; v += step) values.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, star };
}

/** Wall-clock time in `zone` as a fake-UTC millisecond count, and back. */
function zoneClock(zone: string): { toWall(ms: number): number; fromWall(wall: number): number } {
  if (zone === 'UTC' || zone === 'Etc/UTC') return { toWall: (ms) => ms, fromWall: (w) => w };
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  const toWall = (ms: number): number => {
    const p: Record<string, number> = {};
    for (const { type, value } of fmt.formatToParts(new Date(ms))) p[type] = Number(value);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) + (((ms % 1000) + 1000) % 1000);
  };
  // The offsets a day either side cover both sides of any DST change. A wall time that exists
  // once or twice maps to its earliest instant; one skipped by a jump forward maps past the jump.
  const fromWall = (wall: number): number => {
    const [before, after] = [wall - 86_400_000, wall + 86_400_000].map((t) => wall - (toWall(t) - t));
    const valid = [before, after].filter((i) => toWall(i) === wall);
    return valid.length ? Math.min(...valid) : before;
  };
  return { toWall, fromWall };
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
  const every = /^@every\s+(\S+)$/.exec(expr.trim());
  if (every) return everySchedule(every[1]);
  const descriptor = expr.trim().startsWith('@') ? DESCRIPTORS[expr.trim()] : undefined;
  if (expr.trim().startsWith('@') && !descriptor) throw new Error(`unrecognized descriptor: ${expr.trim()}`);
  const fields = (descriptor ?? expr).trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: ${JSON.stringify(expr)}`);
  const [minute, hour, dom, month, dow] = fields.map((f, i) => parseField(f, FIELDS[i]));
  let zone: ReturnType<typeof zoneClock>;
  try { zone = zoneClock(timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone); }
  catch { throw new Error(`unknown time zone ${JSON.stringify(timeZone)}`); }
  // As robfig/cron: if either day field is `*`, both must match; otherwise either may.
  const dayMatches = (d: Date): boolean => {
    const a = dom.values.has(d.getUTCDate());
    const b = dow.values.has(d.getUTCDay());
    return dom.star || dow.star ? a && b : a || b;
  };
  return {
    next(after: Date): Date {
      const start = zone.toWall(after.getTime());
      let wall = Math.floor(start / 60_000) * 60_000 + 60_000;
      const limit = start + 5 * 366 * 86_400_000;
      while (wall <= limit) {
        const d = new Date(wall);
        const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
        if (!month.values.has(mo + 1)) { wall = Date.UTC(y, mo + 1, 1); continue; }
        if (!dayMatches(d)) { wall = Date.UTC(y, mo, day + 1); continue; }
        if (!hour.values.has(h)) { wall = Date.UTC(y, mo, day, h + 1); continue; }
        if (!minute.values.has(d.getUTCMinutes())) { wall += 60_000; continue; }
        const at = zone.fromWall(wall);
        // A wall time repeated when clocks go back fires once; its instant may be behind us.
        if (at > after.getTime()) return new Date(at);
        wall += 60_000;
      }
      throw new Error(`schedule ${JSON.stringify(expr)} matches no time in the 5 years after ${after.toISOString()}`);
    },
  };
}
