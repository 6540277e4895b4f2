// What a hollow node (the fake runtime) answers instead of dialling: its pods' addresses are not on any network,
// so a probe or a port-forward that dialled them would either fail or, on a machine with a default route, send
// packets off the machine. A pod annotation decides the outcome instead (default: success):
//   kubemu.io/fake-probe-<liveness|readiness|startup>[.<container>]: success | failure
//   kubemu.io/fake-port-forward: accept | refuse
// An accepted port-forward connection reaches a tiny in-process server that answers one HTTP response naming the
// pod and port (enough for `curl localhost:8080` through `kubectl port-forward`), then closes.
import { Duplex } from 'node:stream';
import type { ProbeKind } from './probes.ts';

type Obj = Record<string, any>;
export const FAKE_PROBE_ANNOTATION = 'kubemu.io/fake-probe-';
export const FAKE_PORT_FORWARD_ANNOTATION = 'kubemu.io/fake-port-forward';

export function simulatedProbe(pod: Obj, container: string, kind: ProbeKind): { ok: boolean; message: string } {
  const a = pod.metadata?.annotations ?? {};
  const value = a[`${FAKE_PROBE_ANNOTATION}${kind}.${container}`] ?? a[`${FAKE_PROBE_ANNOTATION}${kind}`] ?? 'success';
  return value === 'failure'
    ? { ok: false, message: `simulated failure (annotation ${FAKE_PROBE_ANNOTATION}${kind})` }
    : { ok: true, message: '' };
}

/** A connection to the pod's `port`: a Duplex that answers like a small web server, or an ECONNREFUSED error. */
export function simulatedDial(pod: Obj, port: number): Duplex {
  if (pod.metadata?.annotations?.[FAKE_PORT_FORWARD_ANNOTATION] === 'refuse') {
    throw Object.assign(new Error(`connect ECONNREFUSED (simulated by ${FAKE_PORT_FORWARD_ANNOTATION})`), { code: 'ECONNREFUSED' });
  }
  let request = '';
  let answered = false;
  const conn: Duplex = new Duplex({
    read() {},
    write(chunk, _enc, done) {
      request += chunk.toString('latin1');
      if (!answered && request.includes('\r\n\r\n')) answer();
      done();
    },
    final(done) { if (!answered) answer(); done(); },
  });
  function answer(): void {
    answered = true;
    const body = `kubemu fake pod ${pod.metadata?.namespace}/${pod.metadata?.name} port ${port}: a hollow node runs no process\n`;
    conn.push(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    conn.push(null);
  }
  return conn;
}
