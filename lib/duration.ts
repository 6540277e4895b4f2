// Go-style durations, as Kubernetes' flags take them.
/** A Go-style duration ("5m0s", "30s", "1h", "0") in milliseconds; undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 + Number(m[4] ?? 0);
}
