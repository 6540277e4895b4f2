// Loads proto/cri.proto and maps CriError codes to gRPC status codes and back (shared by server and client).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriError, type CriErrorCode } from './types.ts';
import path from 'node:path';
import { ROOT } from '../../lib/root.ts';

const protoPath = path.join(ROOT, 'proto/cri.proto');

export function loadCri(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  const def = protoLoader.loadSync(protoPath, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    kubemu: { cri: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } } };
  };
  return pkg.kubemu.cri.v1;
}

const toGrpc: Record<CriErrorCode, grpc.status> = {
  NotFound: grpc.status.NOT_FOUND,
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  ImagePullFailed: grpc.status.FAILED_PRECONDITION,
  Runtime: grpc.status.UNKNOWN,
};

export function errorToGrpc(err: unknown): grpc.ServiceError {
  const code = err instanceof CriError ? toGrpc[err.code] : grpc.status.UNKNOWN;
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
}

export function errorFromGrpc(err: grpc.ServiceError): CriError {
  const code = (Object.entries(toGrpc).find(([, v]) => v === err.code)?.[0] ?? 'Runtime') as CriErrorCode;
  return new CriError(code, err.details || err.message);
}
