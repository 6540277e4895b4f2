import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createGrpcServer, loadApiService, STATUS_METADATA_KEY } from './server.ts';
import { notFound } from '../../api/errors.ts';
import { silentLogger } from '../../lib/logger.ts';
import type { Registry } from '../registry/types.ts';

// Transport-only test: a fake Registry; the real one is covered by the client e2e tests.
test('errors map to gRPC codes with Status JSON in trailers; bad input is rejected', async (t) => {
  const registry = { get: async () => { throw notFound('pods', 'x'); } } as unknown as Registry;
  const server = createGrpcServer({ registry, authenticator: { authenticate: async () => ({ username: 'u', groups: [] }) }, logger: silentLogger() });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => e ? rej(e) : res(p)));
  t.after(() => server.forceShutdown());
  const Client = grpc.makeGenericClientConstructor(loadApiService(), 'Api');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  t.after(() => client.close());
  const call = (m: string, req: object) => new Promise<grpc.ServiceError>((res) => client[m](req, (e: grpc.ServiceError) => res(e)));

  const e1 = await call('Get', { ref: { group: '', resource: 'pods', namespace: 'default', name: 'x' } });
  assert.equal(e1.code, grpc.status.NOT_FOUND);
  const st = JSON.parse(String(e1.metadata.get(STATUS_METADATA_KEY)[0]));
  assert.equal(st.reason, 'NotFound');
  assert.equal(st.code, 404);

  const e2 = await call('Get', { ref: { group: '', resource: 'nope', name: 'x' } });
  assert.equal(e2.code, grpc.status.NOT_FOUND);
  const e3 = await call('Create', { ref: { group: '', resource: 'pods', namespace: 'default' }, json: Buffer.from('{bad') });
  assert.equal(e3.code, grpc.status.INVALID_ARGUMENT);
});
