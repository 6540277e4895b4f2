// gRPC server on a unix socket serving any RuntimeService + ImageService (Docker adapter or fake).
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/logger.ts';
import { errorToGrpc, loadCri } from './proto.ts';
import type { ContainerStatus, ImageService, PodSandbox, PodSandboxStatus, RuntimeService, Container } from './types.ts';

export interface CriServerOptions {
  socketPath: string;
  runtime: RuntimeService;
  images: ImageService;
  logger?: Logger;
}

type Unary = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;

function unary(fn: (req: any) => Promise<unknown>, log?: Logger): Unary {
  return (call, cb) => {
    fn(call.request).then((res) => cb(null, res ?? {}), (err) => {
      log?.debug({ err: String(err) }, 'cri call failed');
      cb(errorToGrpc(err));
    });
  };
}

const sandboxOut = (s: PodSandbox | PodSandboxStatus) => ({ ...s, createdAt: s.createdAtMs });
const containerOut = (c: Container) => ({ ...c, createdAt: c.createdAtMs });
const statusOut = (s: ContainerStatus) => ({ ...s, createdAt: s.createdAtMs, startedAt: s.startedAtMs, finishedAt: s.finishedAtMs });
const nonEmpty = <T extends string = string>(s: string): T | undefined => (s ? (s as T) : undefined);
const nonEmptyMap = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? m : undefined);

export class CriServer {
  private readonly opts: CriServerOptions;
  private server?: grpc.Server;

  constructor(opts: CriServerOptions) {
    if (!opts?.socketPath) throw new Error('CriServer: socketPath is required');
    if (!opts.runtime || !opts.images) throw new Error('CriServer: runtime and images are required');
    this.opts = opts;
  }

  async start(): Promise<void> {
    const { runtime: rt, images: im, logger: log } = this.opts;
    const cri = loadCri();
    const server = new grpc.Server();
    server.addService(cri.RuntimeService.service, {
      runPodSandbox: unary(async (r) => ({ podSandboxId: await rt.runPodSandbox(r.config) }), log),
      stopPodSandbox: unary((r) => rt.stopPodSandbox(r.podSandboxId), log),
      removePodSandbox: unary((r) => rt.removePodSandbox(r.podSandboxId), log),
      podSandboxStatus: unary(async (r) => ({ status: sandboxOut(await rt.podSandboxStatus(r.podSandboxId)) }), log),
      listPodSandbox: unary(async (r) => ({
        items: (await rt.listPodSandbox({ id: nonEmpty(r.id), state: nonEmpty(r.state), labelSelector: nonEmptyMap(r.labelSelector) })).map(sandboxOut),
      }), log),
      createContainer: unary(async (r) => ({ containerId: await rt.createContainer(r.podSandboxId, r.config, r.sandboxConfig) }), log),
      startContainer: unary((r) => rt.startContainer(r.containerId), log),
      stopContainer: unary((r) => rt.stopContainer(r.containerId, r.timeout), log),
      removeContainer: unary((r) => rt.removeContainer(r.containerId), log),
      listContainers: unary(async (r) => ({
        containers: (await rt.listContainers({
          id: nonEmpty(r.id), state: nonEmpty(r.state), podSandboxId: nonEmpty(r.podSandboxId), labelSelector: nonEmptyMap(r.labelSelector),
        })).map(containerOut),
      }), log),
      containerStatus: unary(async (r) => ({ status: statusOut(await rt.containerStatus(r.containerId)) }), log),
      execSync: unary((r) => rt.execSync(r.containerId, r.cmd, r.timeout || undefined), log),
      containerLogs: (call: grpc.ServerWritableStream<any, any>) => {
        const r = call.request;
        (async () => {
          for await (const ch of rt.containerLogs(r.containerId, { tail: r.tail < 0 ? undefined : r.tail, follow: r.follow, timestamps: r.timestamps, sinceMs: r.sinceMs || undefined })) {
            if (call.cancelled) return;
            call.write(ch);
          }
          call.end();
        })().catch((err) => call.destroy(errorToGrpc(err)));
      },
    });
    server.addService(cri.ImageService.service, {
      pullImage: unary(async (r) => ({ imageRef: await im.pullImage(r.image?.image) }), log),
      listImages: unary(async () => ({ images: await im.listImages() }), log),
      imageStatus: unary(async (r) => ({ image: (await im.imageStatus(r.image?.image)) ?? undefined }), log),
      removeImage: unary((r) => im.removeImage(r.image?.image), log),
    });
    await rm(this.opts.socketPath, { force: true }); // a stale socket from a killed process
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${this.opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    await rm(this.opts.socketPath, { force: true });
  }
}
