// CRI runtime on Docker, dockershim-style: a pause sandbox container owns the pod's network namespace on the
// cluster bridge network; app containers join it with NetworkMode container:<sandbox-id>.
import { isLocalRegistry, splitImageRef } from './image-ref.ts';
import { CriError, LABELS, type Container, type ContainerConfig, type ContainerFilter, type ContainerStatus, type ExecSyncResult,
  type ExecStream, type Image, type LinuxContainerSecurityContext, type Mount, type ImageService, type LogChunk, type LogOptions, type PodSandbox, type PodSandboxConfig, type PodSandboxFilter,
  type PodSandboxStatus, type RuntimeService, type TerminalSize } from '../types.ts';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import { createHash } from 'node:crypto';
import { DockerEngine, demux } from './engine.ts';

export interface DockerRuntimeOptions {
  nodeName: string;
  network?: string; // default "kubemu"
  sandboxImage?: string; // default kubemu/busybox:1 running /bin/pause
  socketPath?: string;
}

const ms = (t: string | undefined) => (t && !t.startsWith('0001') ? Date.parse(t) : 0);
const labelFilter = (labels: Record<string, string>) =>
  encodeURIComponent(JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }));

export class DockerRuntime implements RuntimeService, ImageService {
  private readonly opts: Required<Omit<DockerRuntimeOptions, 'socketPath'>>;
  private readonly engine: DockerEngine;
  private networkId: string | undefined;

  constructor(opts: DockerRuntimeOptions) {
    if (!opts?.nodeName) throw new Error('DockerRuntime: nodeName is required');
    this.opts = { nodeName: opts.nodeName, network: opts.network ?? 'kubemu', sandboxImage: opts.sandboxImage ?? 'kubemu/busybox:1' };
    this.engine = new DockerEngine({ socketPath: opts.socketPath });
  }

  close(): Promise<void> { return this.engine.close(); }

  private mine(): Record<string, string> { return { [LABELS.managed]: 'true', [LABELS.node]: this.opts.nodeName }; }

  /** The cluster network's id. Docker allows duplicate names, so kubelets starting together may each
   *  create one: all of them then settle on the oldest and remove the rest. */
  private networkPending: Promise<string> | undefined;

  /** The pod network's id. Concurrent first pods share one lookup-or-create (two creators of one name leave two
   *  networks, and Docker then refuses to start a container on "an ambiguous" name). */
  private ensureNetwork(): Promise<string> {
    if (this.networkId) return Promise.resolve(this.networkId);
    this.networkPending ??= this.findOrCreateNetwork().finally(() => { this.networkPending = undefined; });
    return this.networkPending;
  }

  private async findOrCreateNetwork(): Promise<string> {
    const named = async () => {
      const filters = encodeURIComponent(JSON.stringify({ name: [this.opts.network] }));
      const list: Array<{ Id: string; Name: string; Created: string }> = await this.engine.json('GET', `/networks?filters=${filters}`);
      // Oldest first (by time, not by string: Docker trims trailing zeros of the fraction), then by id.
      return list.filter((n) => n.Name === this.opts.network)
        .sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
    };
    let nets = await named();
    if (!nets.length) {
      // Another process (a second kubelet on this network) may create it at the same moment: CheckDuplicate
      // makes the engine refuse the second (409), and the extras of a race it still lets through go below.
      await this.engine.json('POST', '/networks/create', { Name: this.opts.network, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABELS.managed]: 'true' } }, [409]);
      nets = await named();
    }
    for (const extra of nets.slice(1)) await this.engine.json('DELETE', `/networks/${extra.Id}`, undefined, [403, 404, 409]).catch(() => {});
    this.networkId = nets[0].Id;
    return this.networkId;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const md = config?.metadata;
    if (!md?.name || !md.uid) throw new CriError('InvalidArgument', 'sandbox metadata.name and uid are required');
    const networkId = await this.ensureNetwork();
    const labels = { ...config.labels, ...this.mine(), [LABELS.podUid]: md.uid, [LABELS.podNamespace]: md.namespace, [LABELS.podName]: md.name,
      [LABELS.containerName]: 'POD', [LABELS.restartCount]: String(md.attempt ?? 0), 'io.kubemu.annotations': JSON.stringify(config.annotations ?? {}) };
    const ns = config.linux?.securityContext?.namespaceOptions;
    const hostNetwork = ns?.network === 'NODE';
    // With the node's network there is nothing to map (the pod's ports are the node's) and the hostname is the node's.
    const ports = hostNetwork ? [] : config.portMappings ?? [];
    const tmpfs = await this.tmpfsMounts((config.tmpfsVolumes ?? []).map((m, i) => ({ ...m, containerPath: `/.kubemu-emptydir/${i}` })), md.uid);
    const created = await this.engine.json('POST', `/containers/create?name=k8s_POD_${md.name}_${md.namespace}_${md.uid}_${md.attempt ?? 0}`, {
      Image: this.opts.sandboxImage, Cmd: ['/bin/pause'], Hostname: hostNetwork ? '' : config.hostname || md.name, Labels: labels,
      ExposedPorts: Object.fromEntries(ports.map((p) => [`${p.containerPort}/${p.protocol.toLowerCase()}`, {}])),
      HostConfig: {
        NetworkMode: hostNetwork ? 'host' : networkId, Mounts: tmpfs, Dns: config.dnsConfig?.servers ?? [], DnsSearch: config.dnsConfig?.searches ?? [],
        DnsOptions: config.dnsConfig?.options ?? [],
        PortBindings: Object.fromEntries(ports.filter((p) => p.hostPort).map((p) =>
          [`${p.containerPort}/${p.protocol.toLowerCase()}`, [{ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) }]])),
        // The app containers join the sandbox's IPC namespace (the pod's), or the node's; the same for PID when
        // the pod asks for the node's. Pod-level sysctls are set in the namespaces the sandbox owns.
        IpcMode: ns?.ipc === 'NODE' ? 'host' : 'shareable',
        ...(ns?.pid === 'NODE' ? { PidMode: 'host' } : {}),
        Sysctls: config.linux?.sysctls ?? {},
      },
    });
    try {
      await this.engine.json('POST', `/containers/${created.Id}/start`, undefined, [304]);
    } catch (err) {
      // Another process made a second network of this name: look again (the extras go), the next attempt starts.
      if (/is ambiguous/.test(String((err as Error).message))) this.networkId = undefined;
      throw err;
    }
    return created.Id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    for (const c of await this.listContainers({ podSandboxId: id })) await this.stopContainer(c.id, 0);
    await this.engine.json('POST', `/containers/${id}/stop?t=0`, undefined, [304, 404]);
  }

  async removePodSandbox(id: string): Promise<void> {
    const uid = (await this.engine.json('GET', `/containers/${id}/json`, undefined, [404]))?.Config?.Labels?.[LABELS.podUid];
    for (const c of await this.listContainers({ podSandboxId: id })) await this.removeContainer(c.id);
    await this.engine.json('DELETE', `/containers/${id}?force=true`, undefined, [404]);
    if (uid && !(await this.listPodSandbox({ labelSelector: { [LABELS.podUid]: uid } })).length) await removeVolumes(this.engine, { ...this.mine(), [LABELS.podUid]: uid });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const i = await this.engine.json('GET', `/containers/${id}/json`);
    // A sandbox on the node's network has no address of its own (the kubelet reports the node's).
    return { ...this.sandboxFromLabels(i.Id, i.Config.Labels, ms(i.Created), i.State.Running), ip: i.NetworkSettings.Networks?.[this.opts.network]?.IPAddress ?? '' };
  }

  private sandboxFromLabels(id: string, l: Record<string, string>, createdAtMs: number, running: boolean): PodSandbox {
    let annotations: Record<string, string> = {};
    try { annotations = JSON.parse(l['io.kubemu.annotations'] ?? '{}'); } catch { /* bad label: ignore */ }
    return { id, metadata: { name: l[LABELS.podName], uid: l[LABELS.podUid], namespace: l[LABELS.podNamespace], attempt: Number(l[LABELS.restartCount] ?? 0) },
      state: running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY', createdAtMs, labels: l, annotations };
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    const list: any[] = await this.engine.json('GET', `/containers/json?all=true&filters=${labelFilter({ ...filter.labelSelector, ...this.mine(), [LABELS.containerName]: 'POD' })}`);
    return list.map((c) => this.sandboxFromLabels(c.Id, c.Labels, c.Created * 1000, c.State === 'running'))
      .filter((s) => (!filter.id || s.id === filter.id) && (!filter.state || s.state === filter.state));
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    if (!config?.metadata?.name || !config.image) throw new CriError('InvalidArgument', 'container metadata.name and image are required');
    const md = sandboxConfig.metadata;
    const r = config.resources ?? {};
    const labels = { ...config.labels, ...this.mine(), [LABELS.podUid]: md.uid, [LABELS.podNamespace]: md.namespace, [LABELS.podName]: md.name,
      [LABELS.containerName]: config.metadata.name, [LABELS.restartCount]: String(config.metadata.attempt ?? 0), [LABELS.sandboxId]: podSandboxId };
    const created = await this.engine.json('POST', `/containers/create?name=k8s_${config.metadata.name}_${md.name}_${md.namespace}_${md.uid}_${config.metadata.attempt ?? 0}`, {
      Image: config.image, Labels: labels, WorkingDir: config.workingDir ?? '',
      Env: (config.envs ?? []).map((e) => `${e.key}=${e.value}`),
      ...(config.command?.length ? { Entrypoint: config.command } : {}),
      ...(config.args?.length ? { Cmd: config.args } : {}),
      // stdin: true keeps the container's stdin open for kubectl attach; StdinOnce closes it when that attach ends.
      OpenStdin: Boolean(config.stdin), StdinOnce: Boolean(config.stdin && config.stdinOnce), AttachStdin: Boolean(config.stdin), Tty: Boolean(config.tty),
      ...securityConfig(config.linux?.securityContext),
      HostConfig: {
        ...securityHostConfig(config.linux?.securityContext, podSandboxId),
        NetworkMode: `container:${podSandboxId}`,
        ...(config.pidNamespaceOf ? { PidMode: `container:${config.pidNamespaceOf}` } : {}),
        Binds: (config.mounts ?? []).filter((m) => !(m.tmpfsSizeBytes! > 0)).map((m) => `${m.hostPath}:${m.containerPath}${m.readonly ? ':ro' : ''}`),
        Mounts: await this.tmpfsMounts(config.mounts ?? [], md.uid),
        Memory: r.memoryLimitInBytes ?? 0, CpuShares: r.cpuShares ?? 0, CpuPeriod: r.cpuPeriod ?? 0, CpuQuota: r.cpuQuota ?? 0,
      },
    }).catch((e) => { throw e instanceof CriError && e.code === 'NotFound' ? new CriError('NotFound', `image ${config.image} not present`) : e; });
    return created.Id;
  }

  /** Memory-backed emptyDirs: a tmpfs volume per pod volume (named for its host path, so the pod's containers share
   *  it), made on first use with the size limit; removed with the pod's sandbox. */
  private async tmpfsMounts(mounts: Mount[], podUid: string): Promise<object[]> {
    const out: object[] = [];
    for (const m of mounts.filter((x) => x.tmpfsSizeBytes! > 0)) {
      const name = `k8s_emptydir_${createHash('sha256').update(m.hostPath).digest('hex').slice(0, 24)}`;
      await this.engine.json('POST', '/volumes/create', { Name: name, Driver: 'local',
        DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${m.tmpfsSizeBytes},mode=1777` },
        Labels: { ...this.mine(), [LABELS.podUid]: podUid } });
      out.push({ Type: 'volume', Source: name, Target: m.containerPath, ReadOnly: Boolean(m.readonly) });
    }
    return out;
  }

  async startContainer(id: string): Promise<void> { await this.engine.json('POST', `/containers/${id}/start`, undefined, [304]); }
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.engine.json('POST', `/containers/${id}/stop?t=${Math.max(0, Math.floor(timeoutSeconds))}`, undefined, [304]);
  }
  async removeContainer(id: string): Promise<void> { await this.engine.json('DELETE', `/containers/${id}?force=true`, undefined, [404]); }

  async listContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    const sel = { ...filter.labelSelector, ...this.mine(), ...(filter.podSandboxId ? { [LABELS.sandboxId]: filter.podSandboxId } : {}) };
    const list: any[] = await this.engine.json('GET', `/containers/json?all=true&filters=${labelFilter(sel)}`);
    return list.filter((c) => c.Labels[LABELS.containerName] !== 'POD').map((c): Container => ({
      id: c.Id, podSandboxId: c.Labels[LABELS.sandboxId], metadata: { name: c.Labels[LABELS.containerName], attempt: Number(c.Labels[LABELS.restartCount] ?? 0) },
      image: c.Image, state: c.State === 'running' ? 'CONTAINER_RUNNING' : c.State === 'created' ? 'CONTAINER_CREATED' : c.State === 'exited' ? 'CONTAINER_EXITED' : 'CONTAINER_UNKNOWN',
      createdAtMs: c.Created * 1000, labels: c.Labels, annotations: {},
    })).filter((c) => (!filter.id || c.id === filter.id) && (!filter.state || c.state === filter.state));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const i = await this.engine.json('GET', `/containers/${id}/json`);
    const s = i.State;
    const state = s.Running ? 'CONTAINER_RUNNING' : s.Status === 'created' ? 'CONTAINER_CREATED' : 'CONTAINER_EXITED';
    const reason = state !== 'CONTAINER_EXITED' ? '' : s.OOMKilled ? 'OOMKilled' : s.ExitCode === 0 ? 'Completed' : 'Error';
    return { id: i.Id, metadata: { name: i.Config.Labels[LABELS.containerName], attempt: Number(i.Config.Labels[LABELS.restartCount] ?? 0) }, state,
      createdAtMs: ms(i.Created), startedAtMs: ms(s.StartedAt), finishedAtMs: state === 'CONTAINER_EXITED' ? ms(s.FinishedAt) : 0,
      exitCode: s.ExitCode ?? 0, image: i.Config.Image, reason, message: s.Error ?? '', labels: i.Config.Labels, annotations: {} };
  }

  async execSync(id: string, cmd: string[], _timeoutSeconds?: number): Promise<ExecSyncResult> {
    const ex = await this.engine.json('POST', `/containers/${id}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const body = await this.engine.stream('POST', `/exec/${ex.Id}/start`, { Detach: false, Tty: false });
    const out: Buffer[] = [], err: Buffer[] = [];
    for await (const ch of demux(body)) (ch.stream === 'stderr' ? err : out).push(Buffer.from(ch.data));
    const info = await this.engine.json('GET', `/exec/${ex.Id}/json`);
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: info.ExitCode ?? -1 };
  }

  /** Interactive exec (kubectl exec -i): Docker exec start with the connection hijacked (HTTP upgrade to tcp). */
  async execStream(id: string, cmd: string[], opts: { tty?: boolean; size?: TerminalSize } = {}): Promise<ExecStream> {
    const tty = !!opts.tty;
    const size = tty && opts.size ? { ConsoleSize: [opts.size.height, opts.size.width] } : {};
    const ex = await this.engine.json('POST', `/containers/${id}/exec`, { Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty, ...size });
    const socket = await this.hijack(`/exec/${ex.Id}/start`, JSON.stringify({ Detach: false, Tty: tty, ...size }));
    const exitCode = new Promise<number>((resolve) => {
      socket.once('close', () => {
        this.engine.json('GET', `/exec/${ex.Id}/json`).then((i) => resolve(i?.ExitCode ?? -1), () => resolve(-1));
      });
    });
    // With a TTY the client's end of input does not close the terminal: Docker would take the pty down and the
    // process's output with it (a `-it` exec whose stdin closes at once printed nothing); containerd keeps it too.
    return this.session(socket, tty, exitCode, (s) => this.engine.json('POST', `/exec/${ex.Id}/resize?h=${s.height}&w=${s.width}`), !tty);
  }

  /** kubectl attach: the container's own stdio, hijacked as exec's is. Output is raw when the container has a TTY
   *  (whatever the client asked for), multiplexed otherwise; stdin reaches it only if it was created with stdin. */
  async attachStream(id: string, opts: { stdin?: boolean } = {}): Promise<ExecStream> {
    const info = await this.engine.json('GET', `/containers/${id}/json`);
    const tty = Boolean(info.Config?.Tty);
    const stdin = Boolean(opts.stdin && info.Config?.OpenStdin);
    const socket = await this.hijack(`/containers/${id}/attach?stream=1&stdin=${stdin ? 1 : 0}&stdout=1&stderr=1`);
    const exitCode = new Promise<number>((resolve) => socket.once('close', () => resolve(0)));
    // The client's end of input reaches the process only with stdinOnce; otherwise its stdin stays open (Kubernetes:
    // "a container process that reads from stdin will never receive an EOF"), and Docker would end the attachment.
    return this.session(socket, tty, exitCode, (s) => this.engine.json('POST', `/containers/${id}/resize?h=${s.height}&w=${s.width}`), Boolean(info.Config?.StdinOnce));
  }

  /** An HTTP upgrade to a raw stream, as Docker's attach and exec start want. */
  private async hijack(path: string, body?: string): Promise<import('node:net').Socket> {
    // undici's types omit `body` on upgrade but it sends it; Docker needs the JSON start options there.
    const upgradeOpts = {
      method: 'POST', path, protocol: 'tcp',
      ...(body ? { headers: { 'content-type': 'application/json' }, body } : {}),
    } as unknown as Dispatcher.UpgradeOptions;
    const { socket } = (await this.engine.pool.upgrade(upgradeOpts)) as Dispatcher.UpgradeData;
    return socket as unknown as import('node:net').Socket;
  }

  private session(socket: import('node:net').Socket, tty: boolean, exitCode: Promise<number>, resize: (s: TerminalSize) => Promise<unknown>, passEof = true): ExecStream {
    const stdin = new PassThrough();
    stdin.pipe(socket, { end: false });
    // Closing stdin half-closes the socket so the process sees EOF, output keeps flowing.
    stdin.on('end', () => { if (passEof) socket.end(); });
    socket.on('error', () => {}); // the close that follows ends the session
    const raw = socket as unknown as AsyncIterable<Buffer>;
    const output: AsyncIterable<LogChunk> = tty
      ? (async function* () { for await (const b of raw) yield { stream: 'stdout' as const, data: Buffer.from(b) }; })()
      : demux(raw);
    return { stdin, output, exitCode, resize: async (s) => { await resize(s); }, close: () => socket.destroy() };
  }

  async *containerLogs(id: string, opts: LogOptions = {}): AsyncIterable<LogChunk> {
    // A container with a TTY has one raw output stream, not the multiplexed one.
    const tty = Boolean((await this.engine.json('GET', `/containers/${id}/json`))?.Config?.Tty);
    const since = opts.sinceMs ? `&since=${(opts.sinceMs / 1000).toFixed(3)}` : '';
    const q = `stdout=1&stderr=1&follow=${opts.follow ? 1 : 0}&timestamps=${opts.timestamps ? 1 : 0}&tail=${opts.tail ?? 'all'}${since}`;
    const body = await this.engine.stream('GET', `/containers/${id}/logs?${q}`);
    try {
      if (tty) for await (const b of body) yield { stream: 'stdout', data: Buffer.from(b) };
      else for await (const ch of demux(body)) yield { stream: ch.stream, data: Buffer.from(ch.data) };
    } finally { body.destroy(); }
  }

  async pullImage(image: string): Promise<string> {
    // An image already here is not pulled again unless its registry is on this machine (kubemu stays offline).
    const present = await this.imageStatus(image);
    if (present && !isLocalRegistry(image)) return present.id;
    const { repository: from, tag } = splitImageRef(image);
    try {
      const text = await (await this.engine.stream('POST', `/images/create?fromImage=${encodeURIComponent(from)}&tag=${encodeURIComponent(tag)}`)).text();
      const errLine = text.split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.error);
      if (errLine) throw new CriError('ImagePullFailed', `pull ${image}: ${errLine.error}`);
    } catch (e) {
      throw e instanceof CriError && e.code === 'ImagePullFailed' ? e : new CriError('ImagePullFailed', `pull ${image}: ${(e as Error).message}`);
    }
    const got = await this.imageStatus(image);
    if (!got) throw new CriError('ImagePullFailed', `pull ${image}: image not present after pull`);
    return got.id;
  }

  async listImages(): Promise<Image[]> {
    const list: any[] = await this.engine.json('GET', '/images/json');
    return list.map((i) => ({ id: i.Id, repoTags: i.RepoTags ?? [], size: i.Size }));
  }
  async imageStatus(image: string): Promise<Image | null> {
    const i = await this.engine.json('GET', `/images/${encodeURIComponent(image)}/json`, undefined, [404]);
    return i?.Id ? { id: i.Id, repoTags: i.RepoTags ?? [], size: i.Size, ...imageUser(i.Config?.User) } : null;
  }
  async removeImage(image: string): Promise<void> { await this.engine.json('DELETE', `/images/${encodeURIComponent(image)}`, undefined, [404]); }
}

/** The image's USER as CRI reports it: a numeric uid (of "uid[:gid]"), else the name; nothing when unset. */
export function imageUser(user: string | undefined): Pick<Image, 'uid' | 'username'> {
  const u = (user ?? '').split(':')[0];
  if (!u) return {};
  return /^\d+$/.test(u) ? { uid: { value: Number(u) } } : { username: u };
}

/** Docker's seccomp option: its default profile, none, or the profile file's content (as the docker CLI passes it). */
function seccompOpt(p: LinuxContainerSecurityContext['seccomp']): string[] {
  if (!p || p.profileType === 'RuntimeDefault') return [];
  if (p.profileType === 'Unconfined') return ['seccomp=unconfined'];
  let text: string;
  try { text = fs.readFileSync(p.localhostRef ?? '', 'utf8'); } catch (err) {
    throw new CriError('InvalidArgument', `failed to generate seccomp spec opts: cannot load seccomp profile "${p.localhostRef}": ${(err as Error).message}`);
  }
  try { JSON.parse(text); } catch { throw new CriError('InvalidArgument', `failed to generate seccomp spec opts: seccomp profile "${p.localhostRef}" is not JSON`); }
  return [`seccomp=${text}`];
}

/** A container's user, groups and root filesystem (Docker's container Config). */
function securityConfig(sc: LinuxContainerSecurityContext | null | undefined): object {
  if (!sc) return {};
  const user = sc.runAsUser ? String(sc.runAsUser.value) : sc.runAsUsername ?? '';
  if (!user) return {};
  return { User: sc.runAsGroup ? `${user}:${sc.runAsGroup.value}` : user };
}

/**
 * The rest of a container's security context as Docker's HostConfig: privileged, capabilities, no_new_privs,
 * read-only root, supplemental groups, masked /proc paths, and which IPC and PID namespaces it joins (the pod's —
 * the sandbox's — the node's, its own, or for PID another container's: TARGET, as kubectl debug --target asks).
 */
function securityHostConfig(sc: LinuxContainerSecurityContext | null | undefined, sandboxId: string): object {
  if (!sc) return {};
  const ns = sc.namespaceOptions;
  const out: Record<string, unknown> = {
    Privileged: Boolean(sc.privileged),
    ReadonlyRootfs: Boolean(sc.readonlyRootfs),
    CapAdd: sc.capabilities?.addCapabilities ?? [],
    CapDrop: sc.capabilities?.dropCapabilities ?? [],
    GroupAdd: (sc.supplementalGroups ?? []).map(String),
    SecurityOpt: [...(sc.noNewPrivs ? ['no-new-privileges'] : []), ...seccompOpt(sc.seccomp)],
    IpcMode: ns?.ipc === 'NODE' ? 'host' : `container:${sandboxId}`,
    PidMode: ns?.pid === 'NODE' ? 'host' : ns?.pid === 'POD' ? `container:${sandboxId}` : ns?.pid === 'TARGET' && ns.targetId ? `container:${ns.targetId}` : '',
  };
  // Empty lists are procMount Unmasked; a privileged container is unmasked by Docker anyway.
  if (!sc.privileged) { out.MaskedPaths = sc.maskedPaths ?? []; out.ReadonlyPaths = sc.readonlyPaths ?? []; }
  return out;
}

/** Remove the kubemu volumes with these labels (a volume still in use stays: 409). */
export async function removeVolumes(engine: DockerEngine, labels: Record<string, string>): Promise<void> {
  const res = await engine.json('GET', `/volumes?filters=${labelFilter(labels)}`);
  for (const v of res?.Volumes ?? []) await engine.json('DELETE', `/volumes/${v.Name}`, undefined, [404, 409]).catch(() => {});
}
