// gRPC client for the CRI server, implementing the same TS interfaces, plus a decorator that logs and times calls.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/logger.ts';
import { errorFromGrpc, loadCri } from './proto.ts';
import type {
  Container, ContainerConfig, ContainerFilter, ContainerStatus, ExecSyncResult, Image, ImageService, LogChunk, LogOptions,
  PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStatus, RuntimeService,
} from './types.ts';

export interface CriClientOptions { socketPath: string }

const sandboxIn = (s: any): PodSandboxStatus => ({ ...strip(s, 'createdAt'), createdAtMs: Number(s.createdAt) });
const containerIn = (c: any): Container => ({ ...strip(c, 'createdAt'), createdAtMs: Number(c.createdAt) });
const statusIn = (s: any): ContainerStatus => ({
  ...strip(s, 'createdAt', 'startedAt', 'finishedAt'),
  createdAtMs: Number(s.createdAt), startedAtMs: Number(s.startedAt), finishedAtMs: Number(s.finishedAt),
});
function strip(o: any, ...keys: string[]): any {
  const copy = { ...o };
  for (const k of keys) delete copy[k];
  return copy;
}

export class CriClient implements RuntimeService, ImageService {
  private readonly socketPath: string;
  private rt?: grpc.Client & Record<string, any>;
  private im?: grpc.Client & Record<string, any>;

  constructor(opts: CriClientOptions) {
    if (!opts?.socketPath) throw new Error('CriClient: socketPath is required');
    this.socketPath = opts.socketPath;
  }

  private clients(): { rt: grpc.Client & Record<string, any>; im: grpc.Client & Record<string, any> } {
    if (!this.rt || !this.im) {
      const cri = loadCri();
      const target = `unix:${this.socketPath}`;
      this.rt = new cri.RuntimeService(target, grpc.credentials.createInsecure()) as any;
      this.im = new cri.ImageService(target, grpc.credentials.createInsecure()) as any;
    }
    return { rt: this.rt!, im: this.im! };
  }

  private call(which: 'rt' | 'im', method: string, req: object): Promise<any> {
    const client = this.clients()[which];
    return new Promise((resolve, reject) => {
      client[method](req, (err: grpc.ServiceError | null, res: any) => (err ? reject(errorFromGrpc(err)) : resolve(res)));
    });
  }

  close(): void {
    this.rt?.close();
    this.im?.close();
    this.rt = this.im = undefined;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> { return (await this.call('rt', 'runPodSandbox', { config })).podSandboxId; }
  async stopPodSandbox(id: string): Promise<void> { await this.call('rt', 'stopPodSandbox', { podSandboxId: id }); }
  async removePodSandbox(id: string): Promise<void> { await this.call('rt', 'removePodSandbox', { podSandboxId: id }); }
  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    return sandboxIn((await this.call('rt', 'podSandboxStatus', { podSandboxId: id })).status);
  }
  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    return ((await this.call('rt', 'listPodSandbox', filter)).items as any[]).map(sandboxIn).map(({ ip: _ip, ...s }) => s);
  }
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call('rt', 'createContainer', { podSandboxId, config, sandboxConfig })).containerId;
  }
  async startContainer(id: string): Promise<void> { await this.call('rt', 'startContainer', { containerId: id }); }
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> { await this.call('rt', 'stopContainer', { containerId: id, timeout: timeoutSeconds }); }
  async removeContainer(id: string): Promise<void> { await this.call('rt', 'removeContainer', { containerId: id }); }
  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    return ((await this.call('rt', 'listContainers', filter)).containers as any[]).map(containerIn);
  }
  async containerStatus(id: string): Promise<ContainerStatus> { return statusIn((await this.call('rt', 'containerStatus', { containerId: id })).status); }
  async execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecSyncResult> {
    const r = await this.call('rt', 'execSync', { containerId: id, cmd, timeout: timeoutSeconds ?? 0 });
    return { stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr), exitCode: r.exitCode };
  }
  async *containerLogs(id: string, opts: LogOptions = {}): AsyncIterable<LogChunk> {
    const stream = this.clients().rt.containerLogs({ containerId: id, tail: opts.tail ?? -1, follow: !!opts.follow, timestamps: !!opts.timestamps, sinceMs: opts.sinceMs ?? 0 }) as grpc.ClientReadableStream<any>;
    try {
      for await (const ch of stream) yield { stream: ch.stream === 'stderr' ? 'stderr' : 'stdout', data: Buffer.from(ch.data) };
    } catch (err) {
      throw errorFromGrpc(err as grpc.ServiceError);
    } finally {
      stream.cancel();
    }
  }

  async pullImage(image: string): Promise<string> { return (await this.call('im', 'pullImage', { image: { image } })).imageRef; }
  async listImages(): Promise<Image[]> { return (await this.call('im', 'listImages', {})).images; }
  async imageStatus(image: string): Promise<Image | null> { return (await this.call('im', 'imageStatus', { image: { image } })).image ?? null; }
  async removeImage(image: string): Promise<void> { await this.call('im', 'removeImage', { image: { image } }); }
}

/** Wraps a runtime so every promise-returning call is logged with its duration (debug on success, warn on error). */
export function withCallLogging<T extends object>(target: T, logger: Logger): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver);
      if (typeof v !== 'function' || prop === 'containerLogs' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        const start = performance.now();
        const out = v.apply(obj, args);
        if (!(out instanceof Promise)) return out;
        return out.then(
          (res) => { logger.debug({ call: String(prop), ms: +(performance.now() - start).toFixed(2) }, 'cri call'); return res; },
          (err) => { logger.warn({ call: String(prop), ms: +(performance.now() - start).toFixed(2), err: String(err) }, 'cri call failed'); throw err; },
        );
      };
    },
  });
}
