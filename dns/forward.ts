// Names outside the cluster domain go to an upstream resolver, as CoreDNS's default Corefile
// does (`forward . /etc/resolv.conf`): the client's query as it came, under an ID of our own, over
// the transport the client used; the reply goes back under the client's ID. Each upstream gets a
// bounded try, in order, so a dead one costs a SERVFAIL, never a hang. A query that comes back to
// us under an ID we are waiting on is our own forward looping (resolv.conf naming ourselves by
// another address): it is answered SERVFAIL at once, which ends the loop.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../lib/logger.ts';
import { decodeMessage, normalizeName, type Question } from './wire.ts';

export interface Upstream { host: string; port: number }

/** The `nameserver` lines of a resolv.conf (glibc reads at most 3). */
export function resolvConfNameservers(text: string): string[] {
  const lines = text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x).slice(0, 3);
  // A scoped IPv6 address (fe80::1%eth0) is not something we can send to from here.
  return lines.filter((ip) => net.isIP(ip) && !ip.includes('%'));
}

/** "IP", "IP:PORT" or "[V6]:PORT" → an upstream, or an error message. */
export function parseUpstream(s: string): Upstream | string {
  if (net.isIP(s)) return { host: s, port: 53 };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m || !net.isIP(m[1])) return `want IP or IP:PORT, got ${JSON.stringify(s)}`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `not a port: ${m[2]}`;
  return { host: m[1], port };
}

const isUnspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';
const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/** Is `u` this server itself? Same address and port, or our wildcard listen with a loopback upstream on our port. */
export function isSelf(u: Upstream, self: Upstream): boolean {
  if (u.port !== self.port) return false;
  return u.host === self.host || (isUnspecified(self.host) && (isLoopback(u.host) || isUnspecified(u.host)));
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  logger: Logger;
  /** One try at one upstream; the whole forward is bounded by tries × this. */
  attemptTimeoutMs?: number;
  /** Forwards in flight at most (each holds a socket); past it, SERVFAIL at once. */
  maxInflight?: number;
}

export class Forwarder {
  readonly stats = { forwarded: 0, failed: 0, loops: 0, shed: 0 };
  /** IDs of our queries in flight → their question, to spot our own queries coming back. */
  private readonly inflight = new Map<number, string>();
  private readonly attemptMs: number;

  constructor(private readonly opts: ForwarderOptions) {
    this.attemptMs = Math.max(100, opts.attemptTimeoutMs ?? 2000);
  }

  get upstreams(): Upstream[] { return this.opts.upstreams; }

  /** True if this incoming query is one we sent upstream ourselves. */
  isOwnQuery(id: number, q: Question): boolean {
    const hit = this.inflight.get(id) === questionKey(q);
    if (hit) this.stats.loops++;
    return hit;
  }

  /** The upstream's reply to `query` with the client's ID restored, or undefined when no upstream answered. */
  async forward(query: Buffer, q: Question, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const clientId = query.readUInt16BE(0);
    if (this.inflight.size >= (this.opts.maxInflight ?? 512)) { this.stats.shed++; return undefined; }
    for (const u of this.opts.upstreams) {
      const id = this.freshId();
      const out = Buffer.from(query);
      out.writeUInt16BE(id, 0);
      this.inflight.set(id, questionKey(q));
      try {
        const reply = await (proto === 'tcp' ? this.viaTcp(u, out) : this.viaUdp(u, out, id, q));
        if (reply && matches(reply, id, q)) {
          this.stats.forwarded++;
          const back = Buffer.from(reply);
          back.writeUInt16BE(clientId, 0);
          return back;
        }
        this.opts.logger.debug({ upstream: `${u.host}:${u.port}`, name: q.name }, 'dns: no usable reply from upstream');
      } catch (err) {
        this.opts.logger.debug({ upstream: `${u.host}:${u.port}`, name: q.name, err: (err as Error).message }, 'dns: upstream failed');
      } finally {
        this.inflight.delete(id);
      }
    }
    this.stats.failed++;
    return undefined;
  }

  private freshId(): number {
    for (;;) { const id = randomInt(0, 0x10000); if (!this.inflight.has(id)) return id; }
  }

  private viaUdp(u: Upstream, packet: Buffer, id: number, q: Question): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = dgram.createSocket(net.isIPv6(u.host) ? 'udp6' : 'udp4');
      const done = (b: Buffer | undefined) => { clearTimeout(timer); sock.close(); resolve(b); };
      const timer = setTimeout(() => done(undefined), this.attemptMs);
      sock.on('error', () => done(undefined));
      // Anything not from the upstream, or not our reply, is ignored (spoofing, late replies).
      sock.on('message', (msg, rinfo) => { if (rinfo.port === u.port && matches(msg, id, q)) done(msg); });
      sock.connect(u.port, u.host, () => sock.send(packet, (err) => { if (err) done(undefined); }));
    });
  }

  private viaTcp(u: Upstream, packet: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: u.host, port: u.port });
      let buf = Buffer.alloc(0);
      const done = (b: Buffer | undefined) => { clearTimeout(timer); sock.destroy(); resolve(b); };
      const timer = setTimeout(() => done(undefined), this.attemptMs);
      sock.on('error', () => done(undefined));
      sock.on('close', () => done(undefined));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(packet.length);
        sock.write(Buffer.concat([len, packet]));
      });
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
  }
}

const questionKey = (q: Question) => `${normalizeName(q.name)}/${q.type}/${q.class}`;

/** A response with our ID to the same question. */
function matches(reply: Buffer, id: number, q: Question): boolean {
  try {
    const m = decodeMessage(reply);
    return m.header.qr && m.header.id === id && m.questions.length === 1 && questionKey(m.questions[0]) === questionKey(q);
  } catch {
    return false;
  }
}
