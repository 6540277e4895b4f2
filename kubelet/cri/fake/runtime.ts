// In-memory CRI runtime for hollow nodes: no processes, containers "run" at once.
// A container exits on its own when its config asks, through env or annotations (env wins):
//   KUBEMU_FAKE_EXIT_AFTER_MS / annotation kubemu.io/fake-exit-after-ms — exit after that many ms
//   KUBEMU_FAKE_EXIT_CODE     / annotation kubemu.io/fake-exit-code     — with this code (default 0)
// Images: none is present until pulled; every pull succeeds (after options.pullDelayMs, a simulated download) except
// for images matching options.failImages (globs, default *missing*), whose pull fails like an unreachable registry's.
// Pod IPs come from the node's pod CIDR (the kubelet's --pod-cidr; kubemu up gives each node its own /24 of a
// range it routes `unreachable`), handed out in turn and released with the sandbox, so no two live pods of a
// cluster share one. Nothing ever listens on them: the kubelet simulates probes and port-forward (fake-network.ts).
import { randomBytes } from 'node:crypto';
import { intToIp, ipToInt, parseCidr } from '../../../lib/ipv4.ts';
import {
  CriError, matchesLabels,
  type Container, type ContainerConfig, type ContainerFilter, type ContainerStatus, type ExecSyncResult, type Image,
  type ImageService, type LogChunk, type LogOptions, type PodSandbox, type PodSandboxConfig, type PodSandboxFilter,
  type PodSandboxStatus, type RuntimeService,
} from '../types.ts';

export interface FakeRuntimeOptions {
  /** Pod IPs are handed out from this IPv4 CIDR (default 10.244.0.0/24). */
  podCIDR?: string;
  /** Globs (`*` = any characters) of images whose pull fails (default: *missing*). */
  failImages?: string[];
  /** How long a pull takes (default 0). */
  pullDelayMs?: number;
}

export const DEFAULT_FAKE_POD_CIDR = '10.244.0.0/24';

type FakeSandbox = PodSandboxStatus;
interface FakeContainer { c: Container; status: ContainerStatus; timer?: NodeJS.Timeout; logs: LogChunk[]; exitPlan?: ExitPlan }
interface ExitPlan { afterMs: number; code: number }

const newId = () => randomBytes(32).toString('hex');

export class FakeRuntime implements RuntimeService, ImageService {
  private readonly sandboxes = new Map<string, FakeSandbox>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly images = new Map<string, Image>();
  private readonly fail: RegExp[];
  private readonly pullDelayMs: number;
  private readonly cidr: { base: number; size: number };
  private readonly usedIps = new Set<number>();
  private lastIp = 0;

  constructor(opts: FakeRuntimeOptions = {}) {
    let cidr;
    try { cidr = parseCidr(opts.podCIDR ?? DEFAULT_FAKE_POD_CIDR); } catch { cidr = undefined; }
    if (!cidr || cidr.size < 4) throw new Error(`FakeRuntime: podCIDR must be an IPv4 CIDR of /30 or larger, got ${JSON.stringify(opts.podCIDR)}`);
    this.cidr = cidr;
    const glob = (g: string) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    this.fail = (opts.failImages ?? ['*missing*']).map(glob);
    this.pullDelayMs = opts.pullDelayMs ?? 0;
  }

  /** The next free address after the last one given (host-local IPAM's order), skipping network, .1 and broadcast. */
  private allocateIp(): string {
    const { base, size } = this.cidr;
    for (let i = 0; i < size; i++) {
      const off = ((this.lastIp + i) % (size - 3)) + 2;
      if (!this.usedIps.has(off)) {
        this.usedIps.add(off);
        this.lastIp = off - 1;
        return intToIp(base + off);
      }
    }
    throw new CriError('Runtime', `no IP addresses left in pod CIDR ${intToIp(base)}/${32 - Math.log2(size)}`);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    if (!config?.metadata?.name || !config.metadata.uid) throw new CriError('InvalidArgument', 'sandbox metadata.name and uid are required');
    const id = newId();
    const ip = this.allocateIp();
    this.sandboxes.set(id, {
      id, metadata: { ...config.metadata }, state: 'SANDBOX_READY', createdAtMs: Date.now(),
      labels: { ...config.labels }, annotations: { ...config.annotations },
      ip,
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.sandbox(id);
    for (const fc of this.containers.values()) if (fc.c.podSandboxId === id) this.exit(fc, 137, 'Error');
    sb.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(id: string): Promise<void> {
    if (!this.sandboxes.has(id)) return; // idempotent, like CRI
    await this.stopPodSandbox(id);
    for (const [cid, fc] of this.containers) if (fc.c.podSandboxId === id) this.containers.delete(cid);
    const ip = this.sandboxes.get(id)?.ip;
    if (ip) this.usedIps.delete(ipToInt(ip) - this.cidr.base);
    this.sandboxes.delete(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    return structuredClone(this.sandbox(id));
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    return [...this.sandboxes.values()]
      .filter((s) => (!filter.id || s.id === filter.id) && (!filter.state || s.state === filter.state) && matchesLabels(s.labels, filter.labelSelector))
      .map(({ ip: _ip, ...s }) => structuredClone(s));
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, _sandboxConfig: PodSandboxConfig): Promise<string> {
    const sb = this.sandbox(podSandboxId);
    if (sb.state !== 'SANDBOX_READY') throw new CriError('InvalidArgument', `sandbox ${podSandboxId} is not ready`);
    if (!config?.metadata?.name || !config.image) throw new CriError('InvalidArgument', 'container metadata.name and image are required');
    if (!this.images.has(config.image)) throw new CriError('NotFound', `image ${config.image} not present; pull it first`);
    const id = newId();
    const now = Date.now();
    const c: Container = {
      id, podSandboxId, metadata: { ...config.metadata }, image: config.image, state: 'CONTAINER_CREATED',
      createdAtMs: now, labels: { ...config.labels }, annotations: { ...config.annotations },
    };
    const status: ContainerStatus = {
      id, metadata: c.metadata, state: c.state, createdAtMs: now, startedAtMs: 0, finishedAtMs: 0, exitCode: 0,
      image: c.image, reason: '', message: '', labels: c.labels, annotations: c.annotations,
    };
    const env = Object.fromEntries((config.envs ?? []).map((e) => [e.key, e.value]));
    const fc: FakeContainer = { c, status, logs: [], exitPlan: exitPlan(env, c.annotations) };
    this.containers.set(id, fc);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const fc = this.container(id);
    if (fc.c.state !== 'CONTAINER_CREATED') throw new CriError('InvalidArgument', `container ${id} is ${fc.c.state}, not created`);
    this.setState(fc, 'CONTAINER_RUNNING');
    fc.status.startedAtMs = Date.now();
    fc.logs.push({ stream: 'stdout', data: Buffer.from(`${fc.c.metadata.name} started\n`) });
    const plan = fc.exitPlan;
    if (plan) {
      fc.timer = setTimeout(() => this.exit(fc, plan.code, plan.code === 0 ? 'Completed' : 'Error'), plan.afterMs);
      fc.timer.unref();
    }
  }

  async stopContainer(id: string, _timeoutSeconds: number): Promise<void> {
    const fc = this.container(id);
    // A fake process honours SIGTERM at once: exit code 143 like a real one that dies of it.
    if (fc.c.state === 'CONTAINER_RUNNING') this.exit(fc, 143, 'Error');
    else if (fc.c.state === 'CONTAINER_CREATED') this.setState(fc, 'CONTAINER_EXITED');
  }

  async removeContainer(id: string): Promise<void> {
    const fc = this.containers.get(id);
    if (!fc) return;
    clearTimeout(fc.timer);
    this.containers.delete(id);
  }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    return [...this.containers.values()].map((fc) => fc.c)
      .filter((c) => (!filter.id || c.id === filter.id) && (!filter.state || c.state === filter.state)
        && (!filter.podSandboxId || c.podSandboxId === filter.podSandboxId) && matchesLabels(c.labels, filter.labelSelector))
      .map((c) => structuredClone(c));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return structuredClone(this.container(id).status);
  }

  /** Supports `true`, `false`, `exit N`, `echo ...` and `sh -c "exit N"`; anything else succeeds with no output. */
  async execSync(id: string, cmd: string[], _timeoutSeconds?: number): Promise<ExecSyncResult> {
    const fc = this.container(id);
    if (fc.c.state !== 'CONTAINER_RUNNING') throw new CriError('InvalidArgument', `container ${id} is not running`);
    const line = cmd[0] === 'sh' && cmd[1] === '-c' ? (cmd[2] ?? '') : cmd.join(' ');
    const m = /^\s*exit\s+(\d+)\s*$/.exec(line);
    if (m) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: Number(m[1]) };
    if (cmd[0] === 'false') return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 1 };
    if (cmd[0] === 'echo') return { stdout: Buffer.from(cmd.slice(1).join(' ') + '\n'), stderr: Buffer.alloc(0), exitCode: 0 };
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 };
  }

  async *containerLogs(id: string, opts: LogOptions = {}): AsyncIterable<LogChunk> {
    const fc = this.container(id);
    const chunks = opts.tail !== undefined && opts.tail >= 0 ? fc.logs.slice(-opts.tail || fc.logs.length) : fc.logs;
    for (const ch of opts.tail === 0 ? [] : chunks) yield { stream: ch.stream, data: Buffer.from(ch.data) };
  }

  async pullImage(image: string): Promise<string> {
    if (!image) throw new CriError('InvalidArgument', 'image is required');
    if (this.pullDelayMs) await new Promise((r) => setTimeout(r, this.pullDelayMs));
    if (this.fail.some((re) => re.test(image))) {
      throw new CriError('ImagePullFailed', `pull access denied for ${image}: no registry reachable`);
    }
    const existing = this.images.get(image);
    if (existing) return existing.id;
    const img: Image = { id: `sha256:${newId()}`, repoTags: [image], size: 1 << 20 };
    this.images.set(image, img);
    return img.id;
  }

  async listImages(): Promise<Image[]> { return [...this.images.values()].map((i) => structuredClone(i)); }
  async imageStatus(image: string): Promise<Image | null> { const i = this.images.get(image); return i ? structuredClone(i) : null; }
  async removeImage(image: string): Promise<void> { this.images.delete(image); }

  private sandbox(id: string): FakeSandbox {
    const sb = this.sandboxes.get(id);
    if (!sb) throw new CriError('NotFound', `pod sandbox ${id} not found`);
    return sb;
  }

  private container(id: string): FakeContainer {
    const fc = this.containers.get(id);
    if (!fc) throw new CriError('NotFound', `container ${id} not found`);
    return fc;
  }

  private setState(fc: FakeContainer, state: Container['state']): void {
    fc.c.state = state;
    fc.status.state = state;
  }

  private exit(fc: FakeContainer, code: number, reason: ContainerStatus['reason']): void {
    if (fc.c.state !== 'CONTAINER_RUNNING') return;
    clearTimeout(fc.timer);
    this.setState(fc, 'CONTAINER_EXITED');
    fc.status.exitCode = code;
    fc.status.reason = reason;
    fc.status.finishedAtMs = Date.now();
  }
}

function exitPlan(env: Record<string, string>, annotations: Record<string, string>): ExitPlan | undefined {
  const after = env.KUBEMU_FAKE_EXIT_AFTER_MS ?? annotations['kubemu.io/fake-exit-after-ms'];
  if (after === undefined) return undefined;
  const afterMs = Number(after);
  const code = Number(env.KUBEMU_FAKE_EXIT_CODE ?? annotations['kubemu.io/fake-exit-code'] ?? 0);
  if (!Number.isFinite(afterMs) || afterMs < 0 || !Number.isInteger(code)) return undefined; // bad data: keep running
  return { afterMs, code };
}
