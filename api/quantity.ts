// Kubernetes resource quantities ("100m", "1.5", "128Mi", "1e3"): parse to a plain number of
// base units (cores, bytes). Used by validation now and by the scheduler and kubelet.

const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export const QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The value in base units, or undefined when it is not a valid quantity. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  return n * SUFFIX[m[3] ?? ''];
}

/** CPU quantity in millicores (rounded up, as Kubernetes' MilliValue). */
export const toMillicores = (q: unknown): number => Math.ceil((parseQuantity(q) ?? 0) * 1000 - 1e-9);
/** Memory quantity in bytes. */
export const toBytes = (q: unknown): number => Math.ceil(parseQuantity(q) ?? 0);
