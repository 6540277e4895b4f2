// DNS messages on the wire (RFC 1035 §4), written by hand: header, questions and the record
// types a cluster DNS answers with (A, CNAME, PTR, NS, SRV, SOA, and OPT for EDNS0).
// Names are strings in presentation form without the trailing dot ("web.default.svc.cluster.local",
// the root is ""). A label byte that would be ambiguous there ('.', '\', non-printables) is
// escaped as \DDD, so splitting a decoded name on '.' always gives its real labels.
// decodeMessage throws DnsFormatError on anything malformed; the server turns that into FORMERR.

export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const RRClass = { IN: 1, ANY: 255 } as const;
export const RCode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RCodeName = keyof typeof RCode;
export const OPCODE_QUERY = 0;

export const rcodeName = (code: number): string =>
  (Object.keys(RCode) as RCodeName[]).find((k) => RCode[k] === code) ?? `RCODE${code}`;

export interface Header {
  id: number;
  /** true in a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

export interface Question { name: string; type: number; class: number }

/** The typed part of a record; types this module does not know travel as raw bytes. */
export type RData =
  | { kind: 'A'; address: string }
  | { kind: 'name'; target: string } // CNAME, PTR, NS
  | { kind: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { kind: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { kind: 'raw'; bytes: Buffer };

/** For OPT (EDNS0) records `class` is the sender's UDP payload size and `ttl` holds extended rcode, version and flags. */
export interface ResourceRecord { name: string; type: number; class: number; ttl: number; data: RData }

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export class DnsFormatError extends Error {
  readonly code = 'FormErr';
}

// ---------- record constructors (class IN) ----------

export const aRecord = (name: string, address: string, ttl: number): ResourceRecord =>
  ({ name, type: RRType.A, class: RRClass.IN, ttl, data: { kind: 'A', address } });
export const cnameRecord = (name: string, target: string, ttl: number): ResourceRecord =>
  ({ name, type: RRType.CNAME, class: RRClass.IN, ttl, data: { kind: 'name', target } });
export const ptrRecord = (name: string, target: string, ttl: number): ResourceRecord =>
  ({ name, type: RRType.PTR, class: RRClass.IN, ttl, data: { kind: 'name', target } });
export const srvRecord = (name: string, ttl: number, s: { priority: number; weight: number; port: number; target: string }): ResourceRecord =>
  ({ name, type: RRType.SRV, class: RRClass.IN, ttl, data: { kind: 'SRV', ...s } });
/** An EDNS0 OPT pseudo-record advertising our UDP payload size, with these options' bytes (none by default). */
export const optRecord = (udpSize: number, options: Buffer = Buffer.alloc(0)): ResourceRecord =>
  ({ name: '', type: RRType.OPT, class: udpSize, ttl: 0, data: { kind: 'raw', bytes: options } });

/** RFC 8914 Extended DNS Error info codes we use. */
export const EDE = { NotReady: 14, NoReachableAuthority: 22, NetworkError: 23 } as const;
const EDE_OPTION = 15;

/** An Extended DNS Error EDNS0 option (RFC 8914): why a SERVFAIL, in words a `dig` user sees. */
export function edeOption(infoCode: number, text: string): Buffer {
  const body = Buffer.concat([Buffer.from([infoCode >> 8, infoCode & 0xff]), Buffer.from(text, 'utf8')]);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(EDE_OPTION, 0);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** The Extended DNS Errors in an OPT record's options. */
export function edeOf(opt: ResourceRecord | undefined): Array<{ code: number; text: string }> {
  const out: Array<{ code: number; text: string }> = [];
  const b = opt?.data.kind === 'raw' ? opt.data.bytes : Buffer.alloc(0);
  for (let i = 0; i + 4 <= b.length;) {
    const code = b.readUInt16BE(i);
    const len = b.readUInt16BE(i + 2);
    if (code === EDE_OPTION && len >= 2 && i + 4 + len <= b.length) out.push({ code: b.readUInt16BE(i + 4), text: b.subarray(i + 6, i + 4 + len).toString('utf8') });
    i += 4 + len;
  }
  return out;
}

// ---------- decode ----------

const MAX_POINTER_JUMPS = 64; // more than any legal name needs; stops pointer loops

function need(buf: Buffer, off: number, n: number): void {
  if (off + n > buf.length) throw new DnsFormatError(`message truncated at byte ${off} (need ${n} more)`);
}

/** Read a possibly compressed name at `off`; returns the name and the offset after it in the stream. */
export function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = off;
  let next = -1; // where the caller continues: after the first pointer, or after the final zero
  let jumps = 0;
  let length = 1; // wire length, for the 255-octet limit
  for (;;) {
    need(buf, pos, 1);
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      need(buf, pos, 2);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      // Pointers must go backwards, which with the jump cap rules out loops.
      if (target >= pos) throw new DnsFormatError(`compression pointer at ${pos} does not point backwards`);
      if (++jumps > MAX_POINTER_JUMPS) throw new DnsFormatError('too many compression pointers');
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if (len & 0xc0) throw new DnsFormatError(`unsupported label type 0x${(len & 0xc0).toString(16)}`);
    if (len === 0) { if (next < 0) next = pos + 1; break; }
    need(buf, pos + 1, len);
    length += len + 1;
    if (length > 255) throw new DnsFormatError('name longer than 255 octets');
    labels.push(escapeLabel(buf.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

function escapeLabel(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    // Printable ASCII except '.' and '\' as is; everything else as \DDD (RFC 1035 §5.1).
    s += b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  }
  return s;
}

function readRecord(buf: Buffer, off: number): { rr: ResourceRecord; next: number } {
  const { name, next: p } = readName(buf, off);
  need(buf, p, 10);
  const type = buf.readUInt16BE(p);
  const cls = buf.readUInt16BE(p + 2);
  const ttl = buf.readUInt32BE(p + 4);
  const rdlen = buf.readUInt16BE(p + 8);
  const start = p + 10;
  need(buf, start, rdlen);
  const end = start + rdlen;
  const nameIn = (at: number): { name: string; next: number } => {
    const r = readName(buf, at);
    if (r.next > end) throw new DnsFormatError(`name in rdata runs past the record at ${at}`);
    return r;
  };
  let data: RData;
  if (type === RRType.A && cls === RRClass.IN) {
    if (rdlen !== 4) throw new DnsFormatError(`A record with ${rdlen} bytes of data`);
    data = { kind: 'A', address: [...buf.subarray(start, end)].join('.') };
  } else if (type === RRType.CNAME || type === RRType.PTR || type === RRType.NS) {
    data = { kind: 'name', target: nameIn(start).name };
  } else if (type === RRType.SRV) {
    if (rdlen < 7) throw new DnsFormatError('SRV record too short');
    data = { kind: 'SRV', priority: buf.readUInt16BE(start), weight: buf.readUInt16BE(start + 2), port: buf.readUInt16BE(start + 4), target: nameIn(start + 6).name };
  } else if (type === RRType.SOA) {
    const m = nameIn(start);
    const r = nameIn(m.next);
    if (r.next + 20 > end) throw new DnsFormatError('SOA record too short');
    const n = (i: number) => buf.readUInt32BE(r.next + 4 * i);
    data = { kind: 'SOA', mname: m.name, rname: r.name, serial: n(0), refresh: n(1), retry: n(2), expire: n(3), minimum: n(4) };
  } else {
    data = { kind: 'raw', bytes: Buffer.from(buf.subarray(start, end)) };
  }
  return { rr: { name, type, class: cls, ttl, data }, next: end };
}

export function decodeHeader(buf: Buffer): Header & { qdcount: number; ancount: number; nscount: number; arcount: number } {
  need(buf, 0, 12);
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    qr: !!(flags & 0x8000), opcode: (flags >> 11) & 0xf, aa: !!(flags & 0x0400), tc: !!(flags & 0x0200),
    rd: !!(flags & 0x0100), ra: !!(flags & 0x0080), rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4), ancount: buf.readUInt16BE(6), nscount: buf.readUInt16BE(8), arcount: buf.readUInt16BE(10),
  };
}

export function decodeMessage(buf: Buffer): Message {
  const h = decodeHeader(buf);
  let off = 12;
  const questions: Question[] = [];
  for (let i = 0; i < h.qdcount; i++) {
    const { name, next } = readName(buf, off);
    need(buf, next, 4);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    off = next + 4;
  }
  const section = (count: number): ResourceRecord[] => {
    const out: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) { const { rr, next } = readRecord(buf, off); out.push(rr); off = next; }
    return out;
  };
  const answers = section(h.ancount);
  const authorities = section(h.nscount);
  const additionals = section(h.arcount);
  if (off !== buf.length) throw new DnsFormatError(`${buf.length - off} bytes after the last record`);
  const { qdcount: _q, ancount: _a, nscount: _n, arcount: _r, ...header } = h;
  return { header, questions, answers, authorities, additionals };
}

// ---------- encode ----------

/** Labels of a presentation-form name as bytes, undoing \DDD and \X escapes. */
function nameLabels(name: string): Buffer[] {
  const n = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  if (n === '') return [];
  const labels: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < n.length; i++) {
    const c = n[i];
    if (c === '.') { labels.push(Buffer.from(cur)); cur = []; continue; }
    if (c === '\\' && /^\d{3}$/.test(n.slice(i + 1, i + 4))) { cur.push(Number(n.slice(i + 1, i + 4)) & 0xff); i += 3; continue; }
    if (c === '\\' && i + 1 < n.length) { cur.push(n.charCodeAt(++i) & 0xff); continue; }
    cur.push(n.charCodeAt(i) & 0xff);
  }
  labels.push(Buffer.from(cur));
  let total = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new Error(`cannot encode name ${JSON.stringify(name)}: label of ${l.length} octets`);
    total += l.length + 1;
  }
  if (total > 255) throw new Error(`cannot encode name ${JSON.stringify(name)}: longer than 255 octets`);
  return labels;
}

/** Accumulates the message; remembers where each name suffix was written, for compression pointers. */
class Writer {
  private readonly chunks: Buffer[] = [];
  length = 0;
  private readonly suffixes = new Map<string, number>();

  constructor(private readonly compress: boolean) {}

  bytes(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u16(v: number): void { const b = Buffer.alloc(2); b.writeUInt16BE(v & 0xffff); this.bytes(b); }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); this.bytes(b); }

  name(name: string, compress = this.compress): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      // Key on the exact bytes so a pointer never changes the case a client sent.
      const key = labels.slice(i).map((l) => l.toString('latin1')).join('\0');
      const at = this.suffixes.get(key);
      if (compress && at !== undefined) { this.u16(0xc000 | at); return; }
      if (this.length < 0x3fff) this.suffixes.set(key, this.length);
      this.bytes(Buffer.concat([Buffer.from([labels[i].length]), labels[i]]));
    }
    this.bytes(Buffer.from([0]));
  }

  /** Write rdata behind a 2-byte length that is filled in afterwards. */
  rdata(fill: () => void): void {
    const lenChunk = Buffer.alloc(2);
    this.bytes(lenChunk);
    const before = this.length;
    fill();
    lenChunk.writeUInt16BE(this.length - before);
  }

  done(): Buffer { return Buffer.concat(this.chunks, this.length); }
}

function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) throw new Error(`cannot encode A record: not an IPv4 address: ${address}`);
  return Buffer.from(parts.map(Number));
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const d = rr.data;
  w.rdata(() => {
    switch (d.kind) {
      case 'A': w.bytes(ipv4Bytes(d.address)); break;
      case 'name': w.name(d.target); break;
      // RFC 2782: the SRV target is never compressed.
      case 'SRV': w.u16(d.priority); w.u16(d.weight); w.u16(d.port); w.name(d.target, false); break;
      case 'SOA': w.name(d.mname); w.name(d.rname); for (const n of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(n); break;
      case 'raw': w.bytes(d.bytes); break;
    }
  });
}

export function encodeMessage(msg: Message, opts: { compress?: boolean } = {}): Buffer {
  const w = new Writer(opts.compress ?? true);
  const h = msg.header;
  w.u16(h.id);
  w.u16((h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode & 0xf));
  for (const n of [msg.questions.length, msg.answers.length, msg.authorities.length, msg.additionals.length]) w.u16(n);
  for (const q of msg.questions) { w.name(q.name); w.u16(q.type); w.u16(q.class); }
  for (const rr of [...msg.answers, ...msg.authorities, ...msg.additionals]) writeRecord(w, rr);
  return w.done();
}

/** Canonical form for matching: lower case, no trailing dot. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/\.$/, '');
