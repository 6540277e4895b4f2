// A pod's security and host settings as the kubelet hands them to the runtime (CRI's Linux configs), and the two
// checks the kubelet itself makes: runAsNonRoot against the image's user, and sysctls against the safe list.
// The effective context is the pod's with the container's fields winning, as Kubernetes'
// DetermineEffectiveSecurityContext does; fsGroup and supplementalGroups become the container's extra groups.
import type { KubeObject } from '../api/types.ts';
import path from 'node:path';
import type { Image, LinuxContainerSecurityContext, LinuxPodSandboxConfig, NamespaceOption, SecurityProfile } from './cri/types.ts';

type Obj = Record<string, any>;

/** The /proc and /sys paths a container does not see (masked) or cannot write, unless procMount is Unmasked. */
export const DEFAULT_MASKED_PATHS = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The pod-level fields a container's securityContext may override. */
const OVERRIDABLE = ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'windowsOptions'];

export function effectiveSecurityContext(pod: KubeObject, c: Obj): Obj {
  const podSc: Obj = pod.spec?.securityContext ?? {};
  const out: Obj = {};
  for (const f of OVERRIDABLE) if (podSc[f] !== undefined && podSc[f] !== null) out[f] = podSc[f];
  for (const [k, v] of Object.entries((c.securityContext ?? {}) as Obj)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** Whose namespaces the pod's containers use: the node's (hostNetwork/hostPID/hostIPC), the pod's, or their own PID. */
export function namespaceOptions(pod: KubeObject): NamespaceOption {
  const s = pod.spec ?? {};
  return {
    network: s.hostNetwork ? 'NODE' : 'POD',
    pid: s.hostPID ? 'NODE' : s.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: s.hostIPC ? 'NODE' : 'POD',
  };
}

const int64 = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? { value: v } : null);

/**
 * The container's seccomp profile, as the kubelet picks it: the container's seccompProfile, else the pod's; unset is
 * Unconfined (a kubelet without --seccomp-default). A Localhost profile is a file under <root-dir>/seccomp.
 */
export function seccompProfile(pod: KubeObject, c: Obj, rootDir: string): SecurityProfile {
  const p: Obj | undefined = c.securityContext?.seccompProfile ?? pod.spec?.securityContext?.seccompProfile;
  if (p?.type === 'RuntimeDefault') return { profileType: 'RuntimeDefault' };
  if (p?.type === 'Localhost') return { profileType: 'Localhost', localhostRef: path.join(rootDir, 'seccomp', String(p.localhostProfile ?? '')) };
  return { profileType: 'Unconfined' };
}

/**
 * The container's LinuxContainerSecurityContext. A runAsGroup without runAsUser goes with the image's user (no user:
 * root), as the kubelet passes it; with neither, the runtime runs the image's USER as it is.
 */
export function containerSecurityContext(pod: KubeObject, c: Obj, image?: Image | null, rootDir = '/var/lib/kubelet'): LinuxContainerSecurityContext {
  const sc = effectiveSecurityContext(pod, c);
  const podSc: Obj = pod.spec?.securityContext ?? {};
  const groups = [podSc.fsGroup, ...(podSc.supplementalGroups ?? [])].filter((g) => typeof g === 'number');
  const unmasked = sc.procMount === 'Unmasked';
  // A runAsGroup without runAsUser applies to the image's user, which the runtime must then be told.
  const groupOnly = int64(sc.runAsUser) === null && int64(sc.runAsGroup) !== null;
  return {
    capabilities: { addCapabilities: sc.capabilities?.add ?? [], dropCapabilities: sc.capabilities?.drop ?? [] },
    privileged: sc.privileged === true,
    namespaceOptions: namespaceOptions(pod),
    runAsUser: int64(sc.runAsUser) ?? (!groupOnly ? null : image?.uid ? { value: image.uid.value } : image?.username ? null : { value: 0 }),
    runAsUsername: !groupOnly || image?.uid ? '' : image?.username ?? '',
    runAsGroup: int64(sc.runAsGroup),
    readonlyRootfs: sc.readOnlyRootFilesystem === true,
    supplementalGroups: [...new Set(groups as number[])],
    // Only an explicit false sets no_new_privs, as in Kubernetes (unset leaves escalation allowed).
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    maskedPaths: unmasked ? [] : DEFAULT_MASKED_PATHS,
    readonlyPaths: unmasked ? [] : DEFAULT_READONLY_PATHS,
    seccomp: seccompProfile(pod, c, rootDir),
  };
}

/** The sandbox's Linux config: its namespaces and the pod's sysctls. */
export function sandboxLinuxConfig(pod: KubeObject): LinuxPodSandboxConfig {
  const podSc: Obj = pod.spec?.securityContext ?? {};
  const all: Obj[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return {
    securityContext: {
      namespaceOptions: namespaceOptions(pod),
      runAsUser: int64(podSc.runAsUser), runAsGroup: int64(podSc.runAsGroup),
      supplementalGroups: (podSc.supplementalGroups ?? []).filter((g: unknown) => typeof g === 'number'),
      privileged: all.some((c) => c.securityContext?.privileged === true),
    },
    sysctls: Object.fromEntries(((podSc.sysctls ?? []) as Obj[]).filter((s) => s?.name).map((s) => [dotted(s.name), String(s.value ?? '')])),
  };
}

/**
 * Kubernetes' CreateContainerConfigError message when runAsNonRoot cannot hold: a runAsUser of 0, or — with no
 * runAsUser — an image whose user is root (or unset, which is root) or a name the kubelet cannot check.
 */
export function runAsNonRootError(pod: KubeObject, c: Obj, image: Image | null): string | undefined {
  const sc = effectiveSecurityContext(pod, c);
  if (sc.runAsNonRoot !== true) return undefined;
  const who = `(pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${c.name})`;
  if (typeof sc.runAsUser === 'number') return sc.runAsUser === 0 ? `container's runAsUser breaks non-root policy ${who}` : undefined;
  if (!image?.uid && image?.username) return `container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root ${who}`;
  const uid = image?.uid?.value ?? 0;
  if (uid === 0) return `container has runAsNonRoot and image will run as root ${who}`;
  if (uid < 0 || uid > 2147483647) return `container has runAsNonRoot and image has an invalid user id (${uid}). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive ${who}`;
  return undefined;
}

/** The kubelet's safe sysctls (namespaced and isolated from other pods), with the namespace each lives in. */
export const SAFE_SYSCTLS: Record<string, 'ipc' | 'net'> = {
  'kernel.shm_rmid_forced': 'ipc',
  'net.ipv4.ip_local_port_range': 'net',
  'net.ipv4.tcp_syncookies': 'net',
  'net.ipv4.ping_group_range': 'net',
  'net.ipv4.ip_unprivileged_port_start': 'net',
  'net.ipv4.ip_local_reserved_ports': 'net',
  'net.ipv4.tcp_keepalive_time': 'net',
  'net.ipv4.tcp_fin_timeout': 'net',
  'net.ipv4.tcp_keepalive_intvl': 'net',
  'net.ipv4.tcp_keepalive_probes': 'net',
  'net.ipv4.tcp_rmem': 'net',
  'net.ipv4.tcp_wmem': 'net',
};

/** A sysctl written with slashes (net/ipv4/tcp_syncookies) in its dotted form. */
const dotted = (name: string) => (name.includes('/') ? name.replace(/\./g, '\u0000').replace(/\//g, '.').replace(/\u0000/g, '/') : name);

/** The kubelet's sysctl admission: undefined, or the message the pod is rejected with (reason SysctlForbidden). */
export function forbiddenSysctl(pod: KubeObject): string | undefined {
  for (const s of (pod.spec?.securityContext?.sysctls ?? []) as Obj[]) {
    const name = dotted(String(s?.name ?? ''));
    const ns = SAFE_SYSCTLS[name];
    if (!ns) return `forbidden sysctl: "${name}" not allowlisted`;
    if ((ns === 'net' && pod.spec?.hostNetwork) || (ns === 'ipc' && pod.spec?.hostIPC)) return `forbidden sysctl: "${name}" not allowed with host ${ns} enabled`;
  }
  return undefined;
}
