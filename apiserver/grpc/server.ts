// gRPC transport for components: same Registry as REST, objects as JSON bytes,
// errors as gRPC status codes with the full Status JSON in trailing metadata.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ApiError, badRequest, errorToStatus, toApiError, type ErrorCode } from '../../api/errors.ts';
import { findResource } from '../../api/resources.ts';
import { bearerToken, type Authenticator } from '../auth/authenticator.ts';
import { userOf } from '../auth/x509.ts';
import type { Registry, RequestContext, ResourceRef, PatchType } from '../registry/types.ts';
import type { Logger } from '../../lib/logger.ts';
import path from 'node:path';
import { ROOT } from '../../lib/root.ts';
import { managerFromUserAgent } from '../patch/managed-fields.ts';

const PROTO = path.join(ROOT, 'proto/api.proto');
export const STATUS_METADATA_KEY = 'kubemu-status-bin';

const GRPC_CODES: Partial<Record<ErrorCode, grpc.status>> = {
  NotFound: grpc.status.NOT_FOUND, AlreadyExists: grpc.status.ALREADY_EXISTS, Conflict: grpc.status.ABORTED,
  Gone: grpc.status.OUT_OF_RANGE, Expired: grpc.status.OUT_OF_RANGE, Invalid: grpc.status.INVALID_ARGUMENT,
  BadRequest: grpc.status.INVALID_ARGUMENT, Forbidden: grpc.status.PERMISSION_DENIED,
  Unauthorized: grpc.status.UNAUTHENTICATED, TooManyRequests: grpc.status.RESOURCE_EXHAUSTED,
  Timeout: grpc.status.DEADLINE_EXCEEDED, ServiceUnavailable: grpc.status.UNAVAILABLE,
  MethodNotAllowed: grpc.status.UNIMPLEMENTED,
};

export function loadApiService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  return pkg.kubemu.api.v1.Api.service as grpc.ServiceDefinition;
}

function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const apiErr = toApiError(err);
  const md = new grpc.Metadata();
  md.set(STATUS_METADATA_KEY, Buffer.from(JSON.stringify(errorToStatus(apiErr))));
  return { code: GRPC_CODES[apiErr.code] ?? grpc.status.INTERNAL, details: apiErr.message, metadata: md };
}

function parseJson(buf: Buffer | undefined, what: string): any {
  try { return JSON.parse(Buffer.from(buf ?? []).toString('utf8')); } catch { throw badRequest(`invalid JSON in ${what}`); }
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json', 'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic', 'application/apply-patch+yaml': 'apply',
  json: 'json', merge: 'merge', strategic: 'strategic', apply: 'apply',
};

export function createGrpcServer(opts: { registry: Registry; authenticator: Authenticator; logger: Logger }): grpc.Server {
  const { registry, authenticator, logger } = opts;

  async function context(call: grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>): Promise<RequestContext> {
    const auth = call.metadata.get('authorization')[0];
    const token = bearerToken(auth);
    const user = await authenticator.authenticate(token, userOf(call.getAuthContext().sslPeerCertificate));
    if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
    return { user };
  }

  function refOf(r: any, subresource?: string): ResourceRef {
    const info = findResource(r?.group ?? '', r?.resource ?? '');
    if (!info) throw new ApiError('NotFound', `the server could not find the requested resource (${r?.resource})`);
    return { info, namespace: r.namespace || undefined, name: r.name || undefined, subresource: subresource || undefined };
  }

  const unary = (fn: (ctx: RequestContext, req: any, call: grpc.ServerUnaryCall<any, any>) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      const started = performance.now();
      Promise.resolve().then(async () => fn(await context(call), call.request, call))
        .then((obj) => {
          const r = call.request?.ref ?? {};
          logger.debug({ method: call.getPath().split('/').pop(), resource: r.resource, namespace: r.namespace || undefined, name: r.name || undefined, ms: +(performance.now() - started).toFixed(1) }, 'grpc call');
          cb(null, { json: Buffer.from(JSON.stringify(obj)) });
        })
        .catch((err) => { logger.debug({ err }, 'grpc call failed'); cb(toServiceError(err) as grpc.ServiceError); });
    };

  // The manager of a write without fieldManager is named after the client, as over REST.
  const writeOptions = (req: any, call: grpc.ServerUnaryCall<any, any>) => {
    const ua = call.metadata.get('user-agent')[0];
    return { dryRun: req.dryRun, fieldManager: req.fieldManager || managerFromUserAgent(typeof ua === 'string' ? ua : undefined) };
  };

  const server = new grpc.Server();
  server.addService(loadApiService(), {
    Get: unary((ctx, req) => registry.get(ctx, refOf(req.ref))),
    List: unary((ctx, req) => registry.list(ctx, refOf(req.ref), {
      labelSelector: req.labelSelector || undefined, fieldSelector: req.fieldSelector || undefined,
      resourceVersion: req.resourceVersion || undefined, limit: req.limit || undefined, continue: req.continue || undefined,
    })),
    Create: unary((ctx, req, call) => registry.create(ctx, refOf(req.ref, req.subresource), parseJson(req.json, 'object'),
      writeOptions(req, call))),
    Update: unary((ctx, req, call) => registry.update(ctx, refOf(req.ref), parseJson(req.json, 'object'),
      writeOptions(req, call))),
    UpdateStatus: unary((ctx, req, call) => registry.update(ctx, refOf(req.ref, 'status'), parseJson(req.json, 'object'),
      writeOptions(req, call))),
    Patch: unary(async (ctx, req, call) => {
      const type = Object.hasOwn(PATCH_TYPES, req.patchType) ? PATCH_TYPES[req.patchType] : undefined;
      if (!type) throw new ApiError('UnsupportedMediaType', `unsupported patch type ${req.patchType}`);
      const r = await registry.patch(ctx, refOf(req.ref, req.subresource), type, parseJson(req.patch, 'patch'),
        { ...writeOptions(req, call), force: req.force });
      return r.object;
    }),
    Delete: unary(async (ctx, req) => {
      const o = req.optionsJson?.length ? parseJson(req.optionsJson, 'delete options') : undefined;
      return (await registry.delete(ctx, refOf(req.ref), o)).object;
    }),
    Bind: unary((ctx, req) => registry.create(ctx, refOf(req.ref, 'binding'), parseJson(req.bindingJson, 'binding'))),
    Watch: (call: grpc.ServerWritableStream<any, any>) => {
      void (async () => {
        let w: Awaited<ReturnType<Registry['watch']>> | undefined;
        call.on('cancelled', () => w?.close());
        try {
          const req = call.request;
          w = await registry.watch(await context(call), refOf(req.ref), {
            labelSelector: req.labelSelector || undefined, fieldSelector: req.fieldSelector || undefined,
            resourceVersion: req.resourceVersion || undefined, allowWatchBookmarks: req.allowBookmarks,
          });
          if (call.cancelled) { w.close(); return; }
          for await (const ev of w) {
            if (call.cancelled) break;
            call.write({ type: ev.type, json: Buffer.from(JSON.stringify(ev.object)) });
          }
          w.close();
          call.end();
        } catch (err) {
          w?.close();
          // A server stream ends with its status through 'error' (destroy() would drop it and leave the client waiting).
          if (!call.cancelled) call.emit('error', toServiceError(err));
        }
      })();
    },
  });
  return server;
}
