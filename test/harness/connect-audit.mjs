// Preloaded into kubemu's processes by a test (NODE_OPTIONS=--import …, KUBEMU_CONNECT_AUDIT=<file>): writes one
// line per outgoing TCP connect or UDP send — "tcp <host> <port>", "udp <host> <port>" or "unix <path>" — so the
// test can check every address a cluster's processes dialled.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';

const file = process.env.KUBEMU_CONNECT_AUDIT;
const record = (line) => { try { fs.appendFileSync(file, `${line}\n`); } catch { /* the test reads what it can */ } };

if (file) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    let o = args[0];
    if (Array.isArray(o)) o = o[0];
    if (typeof o === 'number' || (typeof o === 'string' && /^\d+$/.test(o))) o = { port: o, host: typeof args[1] === 'string' ? args[1] : undefined };
    else if (typeof o === 'string') o = { path: o };
    if (o && o.path) record(`unix ${o.path}`);
    else if (o) record(`tcp ${o.host ?? 'localhost'} ${o.port}`);
    return connect.apply(this, args);
  };
  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (...args) {
    const strings = args.filter((a) => typeof a === 'string');
    const numbers = args.slice(1).filter((a) => typeof a === 'number');
    record(`udp ${strings[strings.length - 1] ?? 'connected'} ${numbers[numbers.length - 1] ?? ''}`);
    return send.apply(this, args);
  };
}
