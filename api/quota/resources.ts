// Resource lists (`{ "requests.cpu": "500m", pods: "2" }`) as numbers and back, as Kubernetes' quota helpers
// (pkg/quota/v1/resources.go) add, mask and compare them, and print them as Kubernetes prints quantities.
import { parseQuantity } from '../quantity.ts';

/** A resource list in base units (cores, bytes, counts); `binary` remembers which names print as Ki/Mi/Gi. */
export interface Amounts { values: Record<string, number>; binary: Set<string> }

export const emptyAmounts = (): Amounts => ({ values: {}, binary: new Set() });

const BINARY = /(Ki|Mi|Gi|Ti|Pi|Ei)$/;
/** Sums of decimals drift (0.1 + 0.2): keep nano precision, as a Quantity does. */
const tidy = (n: number) => Math.round(n * 1e9) / 1e9;

export function amountsOf(list: Record<string, unknown> | undefined): Amounts {
  const a = emptyAmounts();
  for (const [k, v] of Object.entries(list ?? {})) add1(a, k, v);
  return a;
}

/** Add one quantity (a string, or a count) under `name`. */
export function add1(a: Amounts, name: string, q: unknown): void {
  const n = parseQuantity(q);
  if (n === undefined) return;
  // As Quantity.Add: a zero takes the format of what is added to it.
  if (!a.values[name] && typeof q === 'string') { if (BINARY.test(q.trim())) a.binary.add(name); else if (n) a.binary.delete(name); }
  a.values[name] = tidy((a.values[name] ?? 0) + n);
}

export function addAmounts(a: Amounts, b: Amounts): Amounts {
  const out: Amounts = { values: { ...a.values }, binary: new Set(a.binary) };
  for (const [k, v] of Object.entries(b.values)) {
    if (!out.values[k] && v) { if (b.binary.has(k)) out.binary.add(k); else out.binary.delete(k); }
    out.values[k] = tidy((out.values[k] ?? 0) + v);
  }
  return out;
}

/** Only the names in `names` (quota.Mask). */
export function mask(a: Amounts, names: Iterable<string>): Amounts {
  const keep = new Set(names);
  const out = emptyAmounts();
  for (const [k, v] of Object.entries(a.values)) if (keep.has(k)) { out.values[k] = v; if (a.binary.has(k)) out.binary.add(k); }
  return out;
}

/** A Quantity's canonical string: `1500m`, `2`, `1k`, `256Mi`. */
export function formatQuantity(n: number, binary: boolean): string {
  if (n === 0) return '0';
  const sign = n < 0 ? '-' : '';
  const v = Math.abs(n);
  if (Number.isInteger(v)) {
    if (binary && v >= 1024) {
      for (const [s, e] of [['Ei', 60], ['Pi', 50], ['Ti', 40], ['Gi', 30], ['Mi', 20], ['Ki', 10]] as const) {
        if (v % 2 ** e === 0) return `${sign}${v / 2 ** e}${s}`;
      }
    }
    if (!binary) {
      for (const [s, e] of [['E', 18], ['P', 15], ['T', 12], ['G', 9], ['M', 6], ['k', 3]] as const) {
        if (v % 10 ** e === 0) return `${sign}${v / 10 ** e}${s}`;
      }
    }
    return `${sign}${v}`;
  }
  for (const [s, e] of [['m', 3], ['u', 6], ['n', 9]] as const) {
    const scaled = Math.round(v * 10 ** e);
    if (Math.abs(scaled - v * 10 ** e) < 1e-6) return `${sign}${scaled}${s}`;
  }
  return `${sign}${Math.ceil(v * 1e9)}n`;
}

/** Back to a resource list of strings. */
export function toList(a: Amounts): Record<string, string> {
  return Object.fromEntries(Object.entries(a.values).map(([k, v]) => [k, formatQuantity(v, a.binary.has(k))]));
}

/** `limits.cpu=1,pods=1`: sorted by name (the admission plugin's prettyPrint). */
export function prettyPrint(list: Record<string, unknown>): string {
  return Object.keys(list).sort().map((k) => `${k}=${String(list[k])}`).join(',');
}
