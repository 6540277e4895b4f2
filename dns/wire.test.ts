// The wire format by itself (round trips, compression, escapes), and the server's protocol
// rules through DnsServer.respond (truncation, EDNS0, FORMERR/NOTIMP/REFUSED, garbage).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../lib/logger.ts';
import { DnsServer, type Answer } from './server.ts';
import {
  aRecord, cnameRecord, decodeHeader, decodeMessage, DnsFormatError, encodeMessage, optRecord, ptrRecord, RCode, readName, RRClass, RRType,
  srvRecord, type Header, type Message, type Question,
} from './wire.ts';

const queryHeader = (id = 0x1234): Header => ({ id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 });
const query = (name: string, type: number = RRType.A, extra: Partial<Message> = {}): Message =>
  ({ header: queryHeader(), questions: [{ name, type, class: RRClass.IN }], answers: [], authorities: [], additionals: [], ...extra });

describe('wire format', () => {
  test('a query round-trips, header flags included', () => {
    const q: Message = { ...query('web.default.svc.cluster.local', RRType.SRV), header: { ...queryHeader(0xbeef), rd: false, opcode: 2, tc: true } };
    assert.deepEqual(decodeMessage(encodeMessage(q)), q);
  });

  test('a response with every record type round-trips, compressed or not', () => {
    const owner = 'Web.Default.svc.cluster.local'; // the case a client sent survives
    const msg: Message = {
      header: { id: 7, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: false, rcode: RCode.NXDOMAIN },
      questions: [{ name: owner, type: RRType.ANY, class: RRClass.IN }],
      answers: [
        aRecord(owner, '10.96.0.10', 5),
        cnameRecord(owner, 'example.com', 5),
        ptrRecord('10.0.96.10.in-addr.arpa', 'web.default.svc.cluster.local', 5),
        srvRecord('_http._tcp.web.default.svc.cluster.local', 5, { priority: 0, weight: 100, port: 8080, target: 'web.default.svc.cluster.local' }),
      ],
      authorities: [{ name: 'cluster.local', type: RRType.SOA, class: RRClass.IN, ttl: 5,
        data: { kind: 'SOA', mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 4_000_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } }],
      additionals: [aRecord('web.default.svc.cluster.local', '10.96.0.10', 5), optRecord(1232),
        { name: 'x', type: RRType.TXT, class: RRClass.IN, ttl: 1, data: { kind: 'raw', bytes: Buffer.from('\x05hello') } }],
    };
    const compressed = encodeMessage(msg);
    const plain = encodeMessage(msg, { compress: false });
    assert.deepEqual(decodeMessage(compressed), msg);
    assert.deepEqual(decodeMessage(plain), msg);
    assert.ok(compressed.length < plain.length, `${compressed.length} < ${plain.length}`);
  });

  test('compression pointers are followed when reading', () => {
    // Question "example.com"; answer owner = pointer to it; CNAME target = "www" + pointer.
    const q = encodeMessage({ ...query('example.com'), header: { ...queryHeader(1), qr: true } });
    const body = Buffer.from([
      0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, // owner → offset 12, CNAME IN ttl 60, rdlength 6
      3, 0x77, 0x77, 0x77, 0xc0, 12, // "www" → example.com
    ]);
    const pkt = Buffer.concat([q, body]);
    pkt.writeUInt16BE(1, 6); // ancount
    const m = decodeMessage(pkt);
    assert.equal(m.answers[0].name, 'example.com');
    assert.deepEqual(m.answers[0].data, { kind: 'name', target: 'www.example.com' });
  });

  test('pointer loops, forward pointers, long names and bad label types are format errors', () => {
    assert.throws(() => readName(Buffer.from([0xc0, 0]), 0), DnsFormatError); // points at itself
    assert.throws(() => readName(Buffer.from([0xc0, 2, 1, 0x61, 0]), 0), DnsFormatError); // forward
    assert.throws(() => readName(Buffer.from([0x40, 0]), 0), DnsFormatError); // extended label type
    assert.throws(() => readName(Buffer.from([3, 0x61]), 0), DnsFormatError); // runs off the end
    const long = Buffer.concat([...Array(5)].map(() => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])));
    assert.throws(() => readName(Buffer.concat([long, Buffer.from([0])]), 0), /longer than 255/);
  });

  test('dots and odd bytes inside a label are escaped, so a name never gains labels', () => {
    const pkt = Buffer.from([1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61, 0x2e, 0x62, 0x20, 0x5c, 2, 0x63, 0x64, 0, 0, 1, 0, 1]);
    const m = decodeMessage(pkt);
    assert.equal(m.questions[0].name, 'a\\046b\\032\\092.cd');
    assert.equal(m.questions[0].name.split('.').length, 2);
    assert.deepEqual(encodeMessage(m), pkt);
  });

  test('trailing bytes, short headers and truncated records are format errors', () => {
    const good = encodeMessage(query('a.b'));
    assert.throws(() => decodeMessage(Buffer.concat([good, Buffer.from([0])])), /after the last record/);
    assert.throws(() => decodeMessage(good.subarray(0, 11)), DnsFormatError);
    for (let n = 12; n < good.length; n++) assert.throws(() => decodeMessage(good.subarray(0, n)), DnsFormatError);
  });

  test('encoding refuses names DNS cannot carry', () => {
    assert.throws(() => encodeMessage(query(`${'a'.repeat(64)}.com`)), /label of 64 octets/);
    assert.throws(() => encodeMessage(query('a..b')), /label of 0 octets/);
    assert.throws(() => encodeMessage({ ...query('x'), answers: [aRecord('x', '1.2.3', 5)] }), /not an IPv4/);
    // A trailing dot is the same name.
    assert.deepEqual(encodeMessage(query('a.b.')), encodeMessage(query('a.b')));
  });
});

describe('DnsServer.respond', () => {
  const server = (lookup: (q: Question) => Answer) =>
    new DnsServer({ host: '127.0.0.1', port: 0, domain: 'cluster.local', logger: silentLogger(), lookup });
  const many = (n: number) => (q: Question): Answer => ({
    rcode: RCode.NOERROR, answers: [...Array(n)].map((_, i) => aRecord(q.name, `10.0.${i >> 8}.${i & 255}`, 5)),
  });
  const ask = async (s: DnsServer, m: Message, proto: 'udp' | 'tcp' = 'udp') => decodeMessage((await s.respond(encodeMessage(m), proto))!);

  test('answers echo id, question and RD; AA only inside the cluster domain', async () => {
    const s = server(() => ({ rcode: RCode.NOERROR, answers: [] }));
    const r = await ask(s, query('Web.default.svc.Cluster.Local.'));
    assert.equal(r.header.id, 0x1234);
    assert.equal(r.header.qr, true);
    assert.equal(r.header.rd, true);
    assert.equal(r.header.aa, true);
    assert.deepEqual(r.questions, [{ name: 'Web.default.svc.Cluster.Local', type: RRType.A, class: RRClass.IN }]);
    assert.equal((await ask(s, query('example.com'))).header.aa, false);
  });

  test('UDP replies over 512 bytes are truncated (TC) to the question; TCP replies are not', async () => {
    const s = server(many(60));
    const udp = (await s.respond(encodeMessage(query('big.default.svc.cluster.local')), 'udp'))!;
    assert.ok(udp.length <= 512);
    const r = decodeMessage(udp);
    assert.equal(r.header.tc, true);
    assert.equal(r.answers.length, 0);
    assert.equal(r.questions.length, 1);
    const tcp = await ask(s, query('big.default.svc.cluster.local'), 'tcp');
    assert.equal(tcp.header.tc, false);
    assert.equal(tcp.answers.length, 60);
  });

  test('an EDNS0 OPT in the query raises the UDP limit and is echoed back', async () => {
    const s = server(many(60));
    const r = await ask(s, query('big.default.svc.cluster.local', RRType.A, { additionals: [optRecord(4096)] }));
    assert.equal(r.header.tc, false);
    assert.equal(r.answers.length, 60);
    assert.equal(r.additionals.length, 1);
    assert.equal(r.additionals[0].type, RRType.OPT);
    assert.equal(r.additionals[0].class, 1232); // what we advertise
    // Beyond what we send over UDP (1232) it truncates anyway, keeping the OPT.
    const s2 = server(many(200));
    const t = (await s2.respond(encodeMessage(query('x.cluster.local', RRType.A, { additionals: [optRecord(4096)] })), 'udp'))!;
    assert.ok(t.length <= 1232);
    assert.equal(decodeMessage(t).header.tc, true);
    assert.equal(decodeMessage(t).additionals[0].type, RRType.OPT);
    // A silly small advertised size means the classic 512.
    assert.equal((await ask(server(many(20)), query('x.cluster.local', RRType.A, { additionals: [optRecord(100)] }))).header.tc, false);
  });

  test('additional records are dropped before answers, without TC', async () => {
    const s = server((q) => ({ ...many(25)(q), additionals: many(25)({ ...q, name: 'other.default.svc.cluster.local' }).answers }));
    const r = await ask(s, query('x.cluster.local'));
    assert.equal(r.header.tc, false);
    assert.equal(r.answers.length, 25);
    assert.equal(r.additionals.length, 0);
  });

  test('protocol errors: NOTIMP, FORMERR, REFUSED, SERVFAIL', async () => {
    const s = server(() => { throw new Error('boom'); });
    const ok = server(() => ({ rcode: RCode.NOERROR }));
    assert.equal((await ask(ok, { ...query('a.cluster.local'), header: { ...queryHeader(), opcode: 2 } })).header.rcode, RCode.NOTIMP);
    assert.equal((await ask(ok, query('cluster.local', RRType.AXFR))).header.rcode, RCode.NOTIMP);
    const two = { ...query('a.cluster.local'), questions: [{ name: 'a', type: 1, class: 1 }, { name: 'b', type: 1, class: 1 }] };
    assert.equal((await ask(ok, two)).header.rcode, RCode.FORMERR);
    assert.equal((await ask(ok, { ...query('a.cluster.local'), questions: [] })).header.rcode, RCode.FORMERR);
    assert.equal((await ask(ok, { ...query('a.cluster.local'), questions: [{ name: 'version.bind', type: 16, class: 3 }] })).header.rcode, RCode.REFUSED);
    assert.equal((await ask(ok, query('a.cluster.local', 1, { additionals: [optRecord(1232), optRecord(1232)] }))).header.rcode, RCode.FORMERR);
    assert.equal((await ask(s, query('a.cluster.local'))).header.rcode, RCode.SERVFAIL);
    // Our own bad data (an unencodable name) is SERVFAIL, not a crash.
    const bad = server((q) => ({ rcode: RCode.NOERROR, answers: [cnameRecord(q.name, 'x'.repeat(70), 5)] }));
    assert.equal((await ask(bad, query('a.cluster.local'))).header.rcode, RCode.SERVFAIL);
    assert.equal(ok.stats.responses.FORMERR, 3);
  });

  test('responses and short packets are dropped; malformed queries get FORMERR', async () => {
    const s = server(() => ({ rcode: RCode.NOERROR }));
    assert.equal(await s.respond(encodeMessage({ ...query('a'), header: { ...queryHeader(), qr: true } }), 'udp'), undefined);
    assert.equal(await s.respond(Buffer.alloc(5), 'udp'), undefined);
    const good = encodeMessage(query('web.default.svc.cluster.local'));
    for (let n = 12; n < good.length; n++) {
      const out = (await s.respond(good.subarray(0, n), 'udp'))!;
      const h = decodeHeader(out);
      assert.equal(h.rcode, RCode.FORMERR);
      assert.equal(h.id, 0x1234);
    }
    assert.equal(s.stats.dropped, 2);
  });

  test('garbage never throws', async () => {
    let seed = 42;
    const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const s = server((q) => ({ rcode: RCode.NOERROR, answers: [aRecord(q.name, '10.0.0.1', 5)] }));
    const good = encodeMessage(query('web.default.svc.cluster.local', RRType.A, { additionals: [optRecord(1232)] }));
    for (let i = 0; i < 5000; i++) {
      // Half pure noise, half a valid query with a few bytes flipped (more likely to get deep).
      const pkt = i % 2 ? Buffer.from([...Array(rand() % 80)].map(() => rand() & 255)) : Buffer.from(good);
      if (i % 2 === 0) for (let k = 0; k < 3; k++) pkt[rand() % pkt.length] = rand() & 255;
      const out = await s.respond(pkt, i % 3 ? 'udp' : 'tcp');
      if (out) assert.doesNotThrow(() => decodeMessage(out), `response to ${pkt.toString('hex')}`);
    }
  });
});
