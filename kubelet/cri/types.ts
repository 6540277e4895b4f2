// The TS face of the CRI subset in proto/cri.proto. Both the Docker adapter and the in-memory fake implement
// these, and so does the gRPC client, so the kubelet never knows which runtime it talks to.
// Times are unix milliseconds (the proto carries them as int64).

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }
export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }
export interface PortMapping { protocol: 'TCP' | 'UDP'; containerPort: number; hostPort?: number; hostIp?: string }

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  dnsConfig?: DNSConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The pod's memory-backed emptyDirs: the sandbox holds them for the pod's lifetime (content outlives restarts). */
  tmpfsVolumes?: Mount[];
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: SandboxState;
  createdAtMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface PodSandboxStatus extends PodSandbox { ip: string }
export interface PodSandboxFilter { id?: string; state?: SandboxState; labelSelector?: Record<string, string> }

export interface ContainerMetadata { name: string; attempt: number }
/** tmpfsSizeBytes > 0: a memory-backed emptyDir, one tmpfs of that size shared by the pod's containers. */
export interface Mount { containerPath: string; hostPath: string; readonly?: boolean; tmpfsSizeBytes?: number }
export interface Resources { cpuPeriod?: number; cpuQuota?: number; cpuShares?: number; memoryLimitInBytes?: number }

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: { key: string; value: string }[];
  mounts?: Mount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resources?: Resources;
  /** Keep stdin open (spec stdin) so kubectl attach can write to it; stdinOnce closes it when the first attach ends. */
  stdin?: boolean;
  stdinOnce?: boolean;
  /** Give the process a terminal (spec tty). */
  tty?: boolean;
  /** Join this container's PID namespace (an ephemeral container's targetContainerName). */
  pidNamespaceOf?: string;
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: string;
  state: ContainerState;
  createdAtMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number;
  image: string;
  reason: '' | 'OOMKilled' | 'Error' | 'Completed';
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface ContainerFilter { id?: string; state?: ContainerState; podSandboxId?: string; labelSelector?: Record<string, string> }

export interface ExecSyncResult { stdout: Buffer; stderr: Buffer; exitCode: number }
export interface LogOptions { tail?: number; follow?: boolean; timestamps?: boolean; /** Only lines written at or after (unix ms). */ sinceMs?: number }
export interface LogChunk { stream: 'stdout' | 'stderr'; data: Buffer }

/** Streaming exec and attach (kubectl exec -i, attach): not in the gRPC proto, only in-process on the runtime that supports it. */
export interface ExecStream {
  stdin: NodeJS.WritableStream;
  output: AsyncIterable<LogChunk>;
  /** Resolves with the exit code once the process ends (attach: once the attachment ends). */
  exitCode: Promise<number>;
  /** Set the terminal's size (a TTY session; kubectl sends the size at the start and on every change). */
  resize(size: TerminalSize): Promise<void>;
  /** Drop the session (the client went away): an attached container keeps running, unattached. */
  close(): void;
}
export interface TerminalSize { width: number; height: number }

export interface RuntimeService {
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSeconds. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  containerStatus(id: string): Promise<ContainerStatus>;
  execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecSyncResult>;
  containerLogs(id: string, opts?: LogOptions): AsyncIterable<LogChunk>;
  /** `size`: the terminal's size from the start (a TTY). */
  execStream?(id: string, cmd: string[], opts: { tty?: boolean; size?: TerminalSize }): Promise<ExecStream>;
  /** Attach to the container's own stdio (kubectl attach); stdin only if the container keeps it open. */
  attachStream?(id: string, opts: { stdin?: boolean }): Promise<ExecStream>;
}

export interface Image { id: string; repoTags: string[]; size: number }

export interface ImageService {
  /** Returns the image ref. Throws CriError('ImagePullFailed') when the image cannot be had. */
  pullImage(image: string): Promise<string>;
  listImages(): Promise<Image[]>;
  /** null when the image is not present. */
  imageStatus(image: string): Promise<Image | null>;
  removeImage(image: string): Promise<void>;
}

export type CriErrorCode = 'NotFound' | 'ImagePullFailed' | 'InvalidArgument' | 'Runtime';

/** Runtime errors carry a code the kubelet maps to pod reasons (ImagePullFailed → ErrImagePull). */
export class CriError extends Error {
  readonly code: CriErrorCode;
  constructor(code: CriErrorCode, message: string) {
    super(message);
    this.name = 'CriError';
    this.code = code;
  }
}

/** Labels dockershim put on every container; kubemu adds its own marker and the node name. */
export const LABELS = {
  podUid: 'io.kubernetes.pod.uid',
  podNamespace: 'io.kubernetes.pod.namespace',
  podName: 'io.kubernetes.pod.name',
  containerName: 'io.kubernetes.container.name',
  restartCount: 'io.kubernetes.container.restartCount',
  managed: 'io.kubemu.managed',
  node: 'io.kubemu.node',
  sandboxId: 'io.kubernetes.sandbox.id',
} as const;

export function matchesLabels(labels: Record<string, string>, selector?: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
