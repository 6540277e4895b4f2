// iptables chain names are at most 28 characters: a short kind letter and a hash of what the
// chains belong to (a node, or a cluster's service CIDR) keep every instance's chains apart.
import { createHash } from 'node:crypto';

export const chainPrefix = (kind: 'N' | 'C', of: string): string =>
  `KM${kind}-${createHash('sha256').update(of).digest('hex').slice(0, 6).toUpperCase()}`;
