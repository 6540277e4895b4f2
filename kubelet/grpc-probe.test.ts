import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { grpcProbe } from './grpc-probe.ts';

// A real gRPC server with the standard health service: "" is SERVING, "db" NOT_SERVING, others NOT_FOUND.
let server: grpc.Server;
let port = 0;
const serviceOf = (b: Buffer) => { const r = protobuf.Reader.create(b); let s = ''; while (r.pos < r.len) { const t = r.uint32(); if (t === 10) s = r.string(); else r.skipType(t & 7); } return { service: s }; }; // an object: grpc-js takes a falsy request for none
before(async () => {
  server = new grpc.Server();
  server.addService({
    Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
      requestDeserialize: serviceOf, requestSerialize: () => Buffer.alloc(0),
      responseSerialize: (st: number) => Buffer.from(protobuf.Writer.create().uint32(8).int32(st).finish()), responseDeserialize: () => 0 },
  } as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
      if (call.request.service === '') return cb(null, 1);
      if (call.request.service === 'db') return cb(null, 2);
      if (call.request.service === 'slow') return void setTimeout(() => cb(null, 1), 2000);
      cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' } as grpc.ServiceError);
    },
  });
  port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});
after(() => server.forceShutdown());

test('grpc probe: SERVING passes; NOT_SERVING, an unknown service, a slow answer and a closed port fail with the kubelet\'s messages', async () => {
  assert.deepEqual(await grpcProbe('127.0.0.1', port, '', 1000), { ok: true, message: '' });
  assert.deepEqual(await grpcProbe('127.0.0.1', port, 'db', 1000), { ok: false, message: 'service unhealthy (responded with "NOT_SERVING")' });
  assert.equal((await grpcProbe('127.0.0.1', port, 'other', 1000)).message, 'error: health rpc probe failed: rpc error: code = NOT_FOUND desc = unknown service');
  assert.equal((await grpcProbe('127.0.0.1', port, 'slow', 300)).message, 'timeout: health rpc did not complete within 0.3s');
  const closed = await grpcProbe('127.0.0.1', 1, '', 300);
  assert.equal(closed.ok, false);
  assert.match(closed.message, /^timeout: failed to connect service "127\.0\.0\.1:1" within 0\.3s/);
});
