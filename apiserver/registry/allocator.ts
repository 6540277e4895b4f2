// Service ClusterIP and NodePort allocation. Each taken IP or port is one etcd key created
// with "must not exist", so two apiservers on one etcd can never hand out the same one.
import { ApiError } from '../../api/errors.ts';
import { intToIp, ipToInt } from '../../lib/ipv4.ts';
import type { Store } from '../storage/store.ts';

const IP_PREFIX = '/registry/allocations/serviceips/';
const PORT_PREFIX = '/registry/allocations/servicenodeports/';


export interface Cidr { base: number; size: number; text: string }

export function parseCidr(cidr: string): Cidr {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || Number(m[2]) > 30 || m[1].split('.').some((o) => Number(o) > 255)) throw new Error(`invalid service CIDR ${cidr}: want an IPv4 a.b.c.d/n with n ≤ 30`);
  const size = 2 ** (32 - Number(m[2]));
  const base = Math.floor(ipToInt(m[1]) / size) * size;
  return { base, size, text: cidr };
}

export class ServiceAllocator {
  readonly cidr: Cidr;
  constructor(private readonly store: Store, cidr: string, private readonly ports: [number, number]) {
    this.cidr = parseCidr(cidr);
  }

  /** The first usable address: reserved for the `kubernetes` service, as Kubernetes does. */
  get apiServiceIP(): string { return intToIp(this.cidr.base + 1); }

  inRange(ip: string): boolean {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
    const n = ipToInt(ip);
    return n > this.cidr.base && n < this.cidr.base + this.cidr.size - 1;
  }

  private async take(key: string, owner: string): Promise<boolean> {
    try {
      await this.store.create(key, { metadata: { name: owner } });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'AlreadyExists') return false;
      throw err;
    }
  }

  /** Allocate `requested` (must be free and in range) or a random free IP. */
  async allocateIP(owner: string, requested?: string): Promise<string> {
    if (requested) {
      if (!this.inRange(requested)) {
        throw new ApiError('Invalid', `failed to allocate IP ${requested}: provided IP is not in the valid range. The range of valid IPs is ${this.cidr.text}`);
      }
      if (!(await this.take(IP_PREFIX + requested, owner))) {
        throw new ApiError('Invalid', `failed to allocate IP ${requested}: provided IP is already allocated`);
      }
      return requested;
    }
    const usable = this.cidr.size - 3; // not the network, the broadcast or the kubernetes service IP
    const start = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const ip = intToIp(this.cidr.base + 2 + ((start + i) % usable));
      if (await this.take(IP_PREFIX + ip, owner)) return ip;
    }
    throw new ApiError('InternalError', `failed to allocate a serviceIP: range is full`);
  }

  async allocatePort(owner: string, requested?: number): Promise<number> {
    const [lo, hi] = this.ports;
    if (requested) {
      if (requested < lo || requested > hi) {
        throw new ApiError('Invalid', `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
      }
      if (!(await this.take(PORT_PREFIX + requested, owner))) throw new ApiError('Invalid', 'provided port is already allocated');
      return requested;
    }
    const n = hi - lo + 1;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const port = lo + ((start + i) % n);
      if (await this.take(PORT_PREFIX + port, owner)) return port;
    }
    throw new ApiError('InternalError', 'failed to allocate a nodePort: range is full');
  }

  async releaseIP(ip: string | undefined): Promise<void> {
    if (ip && ip !== 'None' && this.inRange(ip)) await this.store.delete(IP_PREFIX + ip).catch(() => {});
  }

  async releasePort(port: number | undefined): Promise<void> {
    if (port) await this.store.delete(PORT_PREFIX + port).catch(() => {});
  }
}
