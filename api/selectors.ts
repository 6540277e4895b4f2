// Label selectors (equality and set-based) and field selectors, parsed from their string
// forms and from LabelSelector objects, with apimachinery's grammar:
//   a=b  a==b  a!=b  a in (x,y)  a notin (x,y)  a  !a   joined by commas (AND).
import { ApiError } from './errors.ts';
import { qualifiedName } from './names.ts';
import type { LabelSelector } from './types.ts';

export interface Selector {
  matches(labels: Record<string, string> | undefined): boolean;
  /** True when it selects everything. */
  empty(): boolean;
  toString(): string;
}

export interface FieldRequirement { field: string; op: '=' | '!='; value: string }

export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(fields: Record<string, string>): boolean;
  empty(): boolean;
}

type Op = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';
interface Requirement { key: string; op: Op; values: string[] }

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function bad(selector: string, why: string): ApiError {
  return new ApiError('BadRequest', `unable to parse requirement: ${why} (selector "${selector}")`);
}

function checkKey(sel: string, key: string): void {
  const why = qualifiedName(key);
  if (!key || why.length) throw bad(sel, `invalid label key "${key}": ${why.join('; ') || 'name part must be non-empty'}`);
}

function checkValue(sel: string, v: string): void {
  if (v.length > 63 || !LABEL_VALUE.test(v)) {
    throw bad(sel, `invalid label value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0; let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  return parts;
}

function parseRequirement(sel: string, raw: string): Requirement {
  const s = raw.trim();
  if (!s) throw bad(sel, 'found \'\', expected: !, identifier, or \'end of string\'');
  let m = /^!\s*([^\s=!(),]+)$/.exec(s);
  if (m) { checkKey(sel, m[1]); return { key: m[1], op: '!', values: [] }; }
  m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(s);
  if (m) {
    checkKey(sel, m[1]);
    const values = m[3].split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '') throw bad(sel, 'for \'in\', \'notin\' operators, values set can\'t be empty');
    values.forEach((v) => checkValue(sel, v));
    return { key: m[1], op: m[2] as Op, values };
  }
  m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(s);
  if (m) {
    checkKey(sel, m[1]); checkValue(sel, m[3]);
    return { key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] };
  }
  m = /^([^\s=!(),]+)$/.exec(s);
  if (m) { checkKey(sel, m[1]); return { key: m[1], op: 'exists', values: [] }; }
  throw bad(sel, `found '${s}', expected: in, notin, =, ==, !=, gt, lt`);
}

function matchOne(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case '=': return has && v === r.values[0];
    case '!=': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v);
    case 'notin': return !has || !r.values.includes(v);
    case 'exists': return has;
    case '!': return !has;
  }
}

function reqToString(r: Requirement): string {
  switch (r.op) {
    case '=': return `${r.key}=${r.values[0]}`;
    case '!=': return `${r.key}!=${r.values[0]}`;
    case 'in': case 'notin': return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
    case 'exists': return r.key;
    case '!': return `!${r.key}`;
  }
}

function selectorOf(reqs: Requirement[]): Selector {
  return {
    matches: (labels) => reqs.every((r) => matchOne(r, labels ?? {})),
    empty: () => reqs.length === 0,
    toString: () => reqs.map(reqToString).join(','),
  };
}

const NOTHING: Selector = { matches: () => false, empty: () => false, toString: () => '<none>' };

/** Parse `a=b,c!=d,e in (f,g),!h`. Throws ApiError BadRequest on bad syntax. */
export function parseLabelSelector(s: string | undefined): Selector {
  if (s === undefined || s.trim() === '') return selectorOf([]);
  return selectorOf(splitTop(s).map((part) => parseRequirement(s, part)));
}

/** A LabelSelector object: undefined selects nothing, {} selects everything (as Kubernetes). */
export function selectorFromLabelSelector(ls: LabelSelector | undefined): Selector {
  if (!ls) return NOTHING;
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [String(v)] });
  for (const e of ls.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator];
    if (!op) throw new ApiError('BadRequest', `"${e.operator}" is not a valid label selector operator`);
    reqs.push({ key: e.key, op, values: [...(e.values ?? [])] });
  }
  return selectorOf(reqs);
}

/** `app=web,tier in (a,b)`: the string form (as in Scale.status.selector). */
export function labelSelectorToString(ls: LabelSelector): string {
  return selectorFromLabelSelector(ls).toString();
}

/** Parse `metadata.name=web,status.phase!=Running`. Throws ApiError BadRequest on bad syntax. */
export function parseFieldSelector(s: string | undefined): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s !== undefined && s.trim() !== '') {
    for (const part of s.split(',')) {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (!m) throw new ApiError('BadRequest', `invalid field selector: '${s}': invalid selector: '${part}'; can't understand '${part}'`);
      requirements.push({ field: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] });
    }
  }
  return {
    requirements,
    matches: (fields) => requirements.every((r) => (r.op === '=' ? fields[r.field] === r.value : fields[r.field] !== r.value)),
    empty: () => requirements.length === 0,
  };
}
