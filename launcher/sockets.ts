// The TCP connections a process holds, read from /proc: the fds of the process that are sockets,
// looked up by inode in its network namespace's /proc/<pid>/net/tcp{,6}.
import fs from 'node:fs';
import os from 'node:os';

export interface TcpConnection { localIP: string; localPort: number; remoteIP: string; remotePort: number }

/** /proc's hex IPv4 is the in-memory (network order) u32 printed in host order; IPv6 is 4 such words. */
function hexToIPv4(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  if (os.endianness() === 'LE') bytes.reverse();
  return [...bytes].join('.');
}

function parseAddr(field: string): { ip: string; port: number } | undefined {
  const [hex, port] = field.split(':');
  if (hex.length === 8) return { ip: hexToIPv4(hex), port: parseInt(port, 16) };
  // IPv4-mapped IPv6 (::ffff:a.b.c.d): the last word holds the IPv4 address.
  if (hex.length === 32 && hex.slice(0, 24) === '0000000000000000FFFF0000') return { ip: hexToIPv4(hex.slice(24)), port: parseInt(port, 16) };
  return undefined;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return inodes; }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return inodes;
}

/** Connections of `pid` (every state but LISTEN) whose remote end is `remoteIP` on one of `ports`. */
export function connectionsTo(pid: number, remoteIP: string, ports: number[]): TcpConnection[] {
  const inodes = socketInodes(pid);
  const out: TcpConnection[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try { text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] === '0A' || !inodes.has(f[9])) continue; // 0A: LISTEN
      const local = parseAddr(f[1]);
      const remote = parseAddr(f[2]);
      if (!local || !remote || remote.ip !== remoteIP || !ports.includes(remote.port)) continue;
      out.push({ localIP: local.ip, localPort: local.port, remoteIP: remote.ip, remotePort: remote.port });
    }
  }
  return out;
}
