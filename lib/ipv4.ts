// IPv4 addresses as numbers, and CIDRs: shared by the apiserver's ClusterIP allocator, the
// LoadBalancer pool, kube-proxy and the CLI.
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export const isIPv4 = (s: string): boolean => IPV4.test(s);

export const ipToInt = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

export const intToIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Parses `a.b.c.d/n` into its first address (as a number), prefix length and size; throws on anything else. */
export function parseCidr(cidr: string): { base: number; bits: number; size: number } {
  const [addr, len, ...rest] = cidr.split('/');
  const bits = Number(len);
  if (rest.length || !isIPv4(addr ?? '') || !/^\d{1,2}$/.test(len ?? '') || bits > 32) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - bits);
  const base = ipToInt(addr!) - (ipToInt(addr!) % size);
  return { base, bits, size };
}

/** Whether `ip` lies inside `cidr`. */
export function inCidr(ip: string, cidr: string): boolean {
  const { base, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= base && n < base + size;
}
