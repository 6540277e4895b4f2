// The kubelet's gRPC probe: grpc.health.v1.Health/Check on podIP:port for `service`, success only on SERVING,
// with the kubelet's failure messages. The two messages are tiny, so they are encoded here with protobufjs' wire
// writer instead of loading a .proto.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

// As proto3 does, an empty service is not written (the request is then zero bytes).
const encodeRequest = (service: string) => (service ? Buffer.from(protobuf.Writer.create().uint32(10).string(service).finish()) : Buffer.alloc(0));

function decodeStatus(buf: Buffer): number {
  const r = protobuf.Reader.create(buf);
  let status = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = r.int32();
    else r.skipType(tag & 7);
  }
  return status;
}

export async function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const client = new grpc.Client(addr, grpc.credentials.createInsecure());
  const deadline = Date.now() + timeoutMs;
  try {
    const connected = await new Promise<Error | undefined>((resolve) => client.waitForReady(deadline, (err) => resolve(err ?? undefined)));
    if (connected) return { ok: false, message: `timeout: failed to connect service "${addr}" within ${timeoutMs / 1000}s: ${connected.message}` };
    const res = await new Promise<{ status?: number; err?: grpc.ServiceError }>((resolve) => {
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', (x: string) => encodeRequest(x), decodeStatus, service, new grpc.Metadata(), { deadline },
        (err, status) => resolve({ status: status ?? undefined, err: err ?? undefined }));
    });
    if (res.err) {
      if (res.err.code === grpc.status.DEADLINE_EXCEEDED) return { ok: false, message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` };
      return { ok: false, message: `error: health rpc probe failed: rpc error: code = ${grpc.status[res.err.code]} desc = ${res.err.details}` };
    }
    if (res.status !== 1) return { ok: false, message: `service unhealthy (responded with "${STATUS[res.status ?? 0] ?? res.status}")` };
    return { ok: true, message: '' };
  } finally {
    client.close();
  }
}
