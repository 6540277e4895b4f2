// How Go decodes two string formats Kubernetes objects carry: time.Parse for metav1.Time (RFC3339) and
// metav1.MicroTime (RFC3339, six fraction digits), and base64.StdEncoding for []byte fields. Each returns
// Go's error text, so a bad value in a body is refused with the words kube-apiserver uses.

export const RFC3339 = '2006-01-02T15:04:05Z07:00';
export const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

const quote = (s: string) => JSON.stringify(s);
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** undefined when `value` parses with `layout`, else Go's ParseError text. */
export function goTimeParseError(value: string, layout: typeof RFC3339 | typeof RFC3339_MICRO): string | undefined {
  const micro = layout === RFC3339_MICRO;
  // [layout element, digits it takes (0 = literal), range check name, max]
  const elems: Array<[string, number, string?, number?]> = [
    ['2006', 4], ['-', 0], ['01', 2, 'month', 12], ['-', 0], ['02', 2, 'day', 31], ['T', 0],
    ['15', -2, 'hour', 23], [':', 0], ['04', 2, 'minute', 59], [':', 0], ['05', 2, 'second', 59],
  ];
  const cannot = (rest: string, elem: string) =>
    `parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(rest)} as ${quote(elem)}`;
  const range = (what: string) => `parsing time ${quote(value)}: ${what} out of range`;
  let rest = value;
  const nums: Record<string, number> = {};
  for (const [elem, digits, name, max] of elems) {
    if (digits === 0) {
      if (!rest.startsWith(elem)) return cannot(rest, elem);
      rest = rest.slice(elem.length);
      continue;
    }
    // Hours take one or two digits; every other number exactly `digits`.
    const m = (digits < 0 ? /^\d\d?/ : new RegExp(`^\\d{${digits}}`)).exec(rest);
    if (!m) return cannot(rest, elem);
    const n = Number(m[0]);
    if (name && (n > (max ?? 0) || ((name === 'month' || name === 'day') && n === 0))) return range(name);
    if (name) nums[name] = n;
    rest = rest.slice(m[0].length);
  }
  if (micro) {
    if (!/^\.\d{6}/.test(rest)) return cannot(rest, '.000000');
    rest = rest.slice(7);
  } else if (/^[.,]\d/.test(rest)) {
    rest = rest.replace(/^[.,]\d+/, ''); // Go accepts a fraction after seconds the layout does not show
  }
  if (rest.startsWith('Z')) rest = rest.slice(1);
  else if (/^[+-]\d\d:\d\d/.test(rest)) rest = rest.slice(6);
  else return cannot(rest, 'Z07:00');
  if (rest) return `parsing time ${quote(value)}: extra text: ${quote(rest)}`;
  const year = Number(value.slice(0, 4));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (nums.day > DAYS[nums.month - 1] || (nums.month === 2 && nums.day === 29 && !leap)) return range('day');
  return undefined;
}

const B64 = /[A-Za-z0-9+/]/;

/** Go's base64.StdEncoding.Decode error for a []byte field ("illegal base64 data at input byte N"), or undefined. */
export function goBase64Error(s: string): string | undefined {
  const bad = (at: number) => `illegal base64 data at input byte ${at}`;
  const nl = (c: string | undefined) => c === '\n' || c === '\r';
  let si = 0;
  while (si < s.length) {
    let j = 0;
    for (; j < 4; j++) {
      if (si === s.length) {
        if (j === 0) return undefined;
        return bad(si - j);
      }
      const c = s[si++];
      if (B64.test(c)) continue;
      if (nl(c)) { j--; continue; }
      if (c !== '=' || j < 2) return bad(si - 1);
      if (j === 2) { // "==" expected; the first is consumed
        while (si < s.length && nl(s[si])) si++;
        if (si === s.length) return bad(s.length);
        if (s[si] !== '=') return bad(si - 1);
        si++;
      }
      while (si < s.length && nl(s[si])) si++;
      return si < s.length ? bad(si) : undefined;
    }
  }
  return undefined;
}
