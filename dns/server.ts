// The DNS server: UDP and TCP (RFC 1035 §4.2, 2-byte length prefix, many queries per
// connection) on one port. It owns the protocol rules — header checks, EDNS0, truncation,
// FORMERR/NOTIMP/REFUSED — and asks `lookup` only for the records of one valid question.
// A question lookup calls not ours goes to the forwarder (forward.ts), or gets SERVFAIL with an
// Extended DNS Error saying why when there is none.
// Nothing a client sends can throw out of it: bad packets get FORMERR or are dropped.
import dgram from 'node:dgram';
import net from 'node:net';
import { closeServer, trackSockets } from '../lib/close-server.ts';
import type { Logger } from '../lib/logger.ts';
import { counterAtScrape, Registry } from '../lib/metrics.ts';
import type { Forwarder } from './forward.ts';
import {
  decodeHeader, decodeMessage, EDE, edeOption, encodeMessage, normalizeName, optRecord, OPCODE_QUERY, RCode, rcodeName, RRClass, RRType,
  type Header, type Message, type Question, type ResourceRecord,
} from './wire.ts';

/** What lookup gives for one question. `authoritative` overrides "AA when the name is in our domain". */
export interface Answer {
  rcode: number;
  answers?: ResourceRecord[];
  authorities?: ResourceRecord[];
  additionals?: ResourceRecord[];
  authoritative?: boolean;
  /** Not a name of ours: ask the upstream resolver (rcode is what to say if there is none). */
  forward?: boolean;
  /** An RFC 8914 Extended DNS Error for the OPT record, when the client sent one. */
  ede?: { code: number; text: string };
}
export type Lookup = (q: Question) => Answer;

export interface DnsServerOptions {
  host: string;
  /** 0 = one free port that both UDP and TCP can bind. */
  port: number;
  domain: string;
  logger: Logger;
  lookup: Lookup;
  /** The EDNS0 UDP payload size we advertise and never exceed; 1232 avoids IP fragmentation (DNS flag day 2020). */
  maxUdpSize?: number;
  /** Idle TCP connections are closed after this long. */
  tcpIdleMs?: number;
  /** Where names outside the cluster go; without one they get SERVFAIL. */
  forwarder?: Forwarder;
}

const CLASSIC_UDP_LIMIT = 512; // RFC 1035 §4.2.1, without EDNS0
const TCP_LIMIT = 65535;

export class DnsServer {
  /** Counters for /metrics. */
  readonly stats = { requests: { udp: 0, tcp: 0 }, responses: {} as Record<string, number>, dropped: 0 };
  /** This server's own registry (several servers in one test process keep apart); dns/main.ts adds its cache gauge. */
  readonly registry = new Registry();
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly domain: string;
  private readonly maxUdpSize: number;

  constructor(private readonly opts: DnsServerOptions) {
    if (!opts || typeof opts.lookup !== 'function') throw new Error('DnsServer: opts.lookup (question → answer) is required');
    if (!opts.logger) throw new Error('DnsServer: opts.logger is required');
    if (!net.isIP(opts.host)) throw new Error(`DnsServer: host must be an IP address, got ${JSON.stringify(opts.host)}`);
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`DnsServer: not a port: ${opts.port}`);
    this.domain = normalizeName(opts.domain ?? '');
    if (!this.domain) throw new Error('DnsServer: opts.domain is required');
    this.maxUdpSize = Math.max(CLASSIC_UDP_LIMIT, Math.min(opts.maxUdpSize ?? 1232, 4096));
    for (const k of Object.keys(RCode)) this.stats.responses[k] = 0;
    const by = (label: string, counts: Record<string, number>) => () => Object.entries(counts).map(([v, n]) => [{ [label]: v }, n] as const);
    counterAtScrape(this.registry, { name: 'dns_requests_total', help: 'DNS requests received, by transport.', labelNames: ['proto'], read: by('proto', this.stats.requests) });
    counterAtScrape(this.registry, { name: 'dns_responses_total', help: 'DNS responses sent, by rcode.', labelNames: ['rcode'], read: by('rcode', this.stats.responses) });
    counterAtScrape(this.registry, { name: 'dns_dropped_total', help: 'Packets dropped without an answer (not a query, or shorter than a header).', read: () => this.stats.dropped });
    if (opts.forwarder) {
      counterAtScrape(this.registry, { name: 'dns_forward_total', help: 'Queries for names outside the cluster sent upstream, by result.', labelNames: ['result'], read: by('result', opts.forwarder.stats) });
    }
  }

  async listen(): Promise<{ udpPort: number; tcpPort: number }> {
    if (this.opts.port !== 0) {
      await this.bind(this.opts.port);
    } else {
      // The kernel picks a free UDP port; the same TCP port is usually free too, else try again.
      for (let attempt = 1; ; attempt++) {
        try { await this.bind(0); break; } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
        }
      }
    }
    const port = this.udp!.address().port;
    this.opts.logger.info({ host: this.opts.host, port, domain: this.domain }, 'dns server listening (udp+tcp)');
    return { udpPort: port, tcpPort: port };
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = this.tcp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await closeServer(tcp);
  }

  /** UDP first (it picks the port when 0), then TCP on the same port; undone if TCP fails. */
  private async bind(port: number): Promise<void> {
    const udp = dgram.createSocket(net.isIPv6(this.opts.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, this.opts.host, () => { udp.off('error', reject); resolve(); });
    });
    const tcp = trackSockets(net.createServer((s) => this.serveTcp(s)));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, this.opts.host, () => { tcp.off('error', reject); resolve(); });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    udp.on('message', async (msg, rinfo) => {
      const out = await this.respond(msg, 'udp').catch(() => undefined);
      if (out && this.udp === udp) udp.send(out, rinfo.port, rinfo.address, (err) => { if (err) this.opts.logger.debug({ err: err.message }, 'dns: udp send failed'); });
    });
    udp.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'dns: udp socket error'));
    tcp.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'dns: tcp server error'));
    this.udp = udp;
    this.tcp = tcp;
  }

  private serveTcp(socket: net.Socket): void {
    let buf = Buffer.alloc(0);
    // Answers go back in the order the queries came, even when one waits on an upstream.
    let order: Promise<unknown> = Promise.resolve();
    socket.setTimeout(this.opts.tcpIdleMs ?? 30_000, () => socket.destroy());
    socket.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'dns: tcp connection error'));
    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2 && !socket.destroyed) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const reply = this.respond(Buffer.from(buf.subarray(2, 2 + len)), 'tcp');
        buf = buf.subarray(2 + len);
        order = order.then(async () => {
          const out = await reply;
          if (socket.destroyed) return;
          // A message we cannot even answer FORMERR to means the stream is not DNS: hang up.
          if (!out) { socket.destroy(); return; }
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        }).catch(() => socket.destroy());
      }
    });
  }

  /** One request in, one response out (or undefined: drop). Never rejects. */
  async respond(packet: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    this.stats.requests[proto]++;
    // Too short for a header, or a response (answering those invites loops): drop.
    if (packet.length < 12 || decodeHeader(packet).qr) { this.stats.dropped++; return undefined; }
    let query: Message;
    try {
      query = decodeMessage(packet);
    } catch (err) {
      this.opts.logger.debug({ err: (err as Error).message, proto }, 'dns: malformed query');
      return this.finish(decodeHeader(packet), [], { rcode: RCode.FORMERR }, undefined, proto);
    }
    const opts = query.additionals.filter((r) => r.type === RRType.OPT);
    const opt = opts[0];
    const q = query.questions[0];
    let answer: Answer;
    if (query.header.opcode !== OPCODE_QUERY) answer = { rcode: RCode.NOTIMP };
    else if (query.questions.length !== 1 || opts.length > 1 || (opt && opt.name !== '')) answer = { rcode: RCode.FORMERR };
    else if (q.type === RRType.AXFR || q.type === RRType.IXFR) answer = { rcode: RCode.NOTIMP };
    else if (q.class !== RRClass.IN && q.class !== RRClass.ANY) answer = { rcode: RCode.REFUSED };
    else if (this.opts.forwarder?.isOwnQuery(query.header.id, q)) {
      this.opts.logger.warn({ name: q.name, upstreams: this.upstreamList() }, 'dns: forwarding loop (an upstream sent our own query back to us): check --upstream');
      answer = { rcode: RCode.SERVFAIL, ede: { code: EDE.NetworkError, text: 'forwarding loop: the upstream resolver is this server' } };
    } else {
      try {
        answer = this.opts.lookup(q);
      } catch (err) {
        this.opts.logger.error({ err: String(err), name: q.name, type: q.type }, 'dns: lookup threw');
        answer = { rcode: RCode.SERVFAIL };
      }
    }
    if (answer.forward) {
      const fwd = this.opts.forwarder;
      if (!fwd?.upstreams.length) {
        answer = { rcode: RCode.SERVFAIL, ede: { code: EDE.NoReachableAuthority, text: `no upstream resolver for names outside ${this.domain} (dns --upstream)` } };
      } else {
        try {
          const reply = await fwd.forward(packet, q, proto);
          if (reply) { this.count(reply); return reply; }
        } catch (err) {
          this.opts.logger.error({ err: String(err), name: q.name }, 'dns: forward threw');
        }
        answer = { rcode: RCode.SERVFAIL, ede: { code: EDE.NoReachableAuthority, text: `no answer from upstream ${this.upstreamList()}` } };
      }
    }
    return this.finish(query.header, query.questions, answer, opt, proto);
  }

  private upstreamList(): string {
    return (this.opts.forwarder?.upstreams ?? []).map((u) => `${u.host}:${u.port}`).join(', ');
  }

  private count(out: Buffer): void {
    const label = rcodeName(out.readUInt16BE(2) & 0xf);
    this.stats.responses[label] = (this.stats.responses[label] ?? 0) + 1;
  }

  /** Build the response: flags, OPT echo, then fit it into the transport's size limit. */
  private finish(h: Header, questions: Question[], answer: Answer, opt: ResourceRecord | undefined, proto: 'udp' | 'tcp'): Buffer {
    const name = questions.length === 1 ? normalizeName(questions[0].name) : '';
    const inDomain = name === this.domain || name.endsWith(`.${this.domain}`);
    const rcode = answer.rcode;
    const header: Header = {
      id: h.id, qr: true, opcode: h.opcode, rd: h.rd, ra: !!this.opts.forwarder?.upstreams.length, tc: false, rcode,
      aa: rcode !== RCode.REFUSED && rcode !== RCode.FORMERR && rcode !== RCode.NOTIMP && (answer.authoritative ?? inDomain),
    };
    const ednsOut = opt ? [optRecord(this.maxUdpSize, answer.ede ? edeOption(answer.ede.code, answer.ede.text) : undefined)] : [];
    const limit = proto === 'tcp' ? TCP_LIMIT : opt ? Math.max(CLASSIC_UDP_LIMIT, Math.min(opt.class, this.maxUdpSize)) : CLASSIC_UDP_LIMIT;
    const full: Message = {
      header, questions,
      answers: answer.answers ?? [], authorities: answer.authorities ?? [], additionals: [...(answer.additionals ?? []), ...ednsOut],
    };
    let out: Buffer;
    try {
      out = encodeMessage(full);
      // Too big: additionals are optional (no TC, RFC 2181 §9); else send the question only with TC set.
      if (out.length > limit) out = encodeMessage({ ...full, additionals: ednsOut });
      if (out.length > limit) out = encodeMessage({ ...full, header: { ...header, tc: true }, answers: [], authorities: [], additionals: ednsOut });
    } catch (err) {
      // Our own data did not encode (say, an invalid externalName): SERVFAIL, not a crash.
      this.opts.logger.error({ err: String(err), name }, 'dns: cannot encode response');
      out = encodeMessage({ header: { ...header, aa: false, rcode: RCode.SERVFAIL }, questions, answers: [], authorities: [], additionals: ednsOut });
    }
    this.count(out);
    this.opts.logger.debug({ proto, name, type: questions[0]?.type, rcode: rcodeName(rcode), answers: full.answers.length }, 'dns: query');
    return out;
  }

  /** Prometheus text for /metrics. */
  metricsText(): Promise<string> { return this.registry.metrics(); }
}
