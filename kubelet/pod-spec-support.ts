// What kubemu does with each field of a Pod spec — the one place that says it. docs/pod-spec.md is generated
// from this table (scripts/gen-pod-spec-doc.ts) and a test checks both against the fields the API accepts. The
// kubelet posts a Warning event (reason NotHonoured) on a pod for every field set that it does not honour, so
// nothing is silently ignored.
type Obj = Record<string, any>;

export type Status = 'honoured' | 'partly' | 'not honoured' | 'not applicable';
export interface Support {
  status: Status;
  /** What kubemu does, or what is missing. */
  note: string;
  /** For 'partly': why this value is not honoured (undefined: it is). For others: values that count as unset. */
  check?: (value: unknown) => string | undefined;
  /** Values the apiserver defaults the field to: set to those, the field is not reported. */
  defaults?: unknown[];
}

const yes = (note: string): Support => ({ status: 'honoured', note });
const no = (note: string, defaults?: unknown[]): Support => ({ status: 'not honoured', note, defaults });

export const POD_SPEC: Record<string, Support> = {
  activeDeadlineSeconds: yes('past it (from status.startTime) the kubelet stops the containers: phase Failed, reason DeadlineExceeded'),
  affinity: yes('the scheduler\'s NodeAffinity and InterPodAffinity plugins: required and preferred terms, topologyKey, namespaces, namespaceSelector, matchLabelKeys and mismatchLabelKeys, and existing pods\' anti-affinity (see docs/scheduling.md)'),
  automountServiceAccountToken: yes('the ServiceAccount admission plugin mounts the kube-api-access projected volume (a bound token, renewed at 80% of its life, ca.crt, namespace) unless it is false here or on the ServiceAccount (docs/security.md)'),
  containers: yes('each runs as its own container in the pod sandbox'),
  dnsConfig: yes('nameservers, searches and options written to the pod\'s resolv.conf'),
  dnsPolicy: yes('ClusterFirst, ClusterFirstWithHostNet, Default and None'),
  enableServiceLinks: yes('the Service environment variables are given, or only the kubernetes Service\'s'),
  ephemeralContainers: yes('added through the ephemeralcontainers subresource (kubectl debug), started once and never restarted; targetContainerName joins that container\'s PID namespace'),
  hostAliases: yes('entries in the kubelet-managed /etc/hosts of every container'),
  hostIPC: yes('the containers use the node\'s IPC namespace (otherwise they share the pod\'s)'),
  hostNetwork: yes('the node\'s network namespace: the pod IP is the node\'s, container ports are host ports, ClusterFirst DNS becomes Default'),
  hostPID: yes('the containers see the node\'s processes'),
  hostUsers: no('user namespaces are not used', [true]),
  hostname: yes('the containers\' hostname (default: the pod\'s name, cut to 63 characters) and its /etc/hosts entry'),
  hostnameOverride: no('not used'),
  imagePullSecrets: { status: 'not applicable', note: 'the kubelet pulls only from registries on this machine, without credentials' },
  initContainers: yes('run in order to success before the app containers; restartPolicy: Always makes a sidecar'),
  nodeName: yes('bypasses the scheduler, as in Kubernetes'),
  nodeSelector: yes('the scheduler\'s NodeAffinity filter'),
  os: { status: 'partly', note: 'every node is linux', check: (v) => ((v as Obj)?.name && (v as Obj).name !== 'linux' ? `os.name ${(v as Obj).name}: every kubemu node is linux` : undefined) },
  overhead: no('RuntimeClass overhead is not accounted'),
  preemptionPolicy: no('the scheduler does not preempt', ['PreemptLowerPriority']),
  priority: no('the scheduler does not order or preempt by priority', [0]),
  priorityClassName: no('PriorityClasses are not served'),
  readinessGates: yes('Ready is True only once each gate\'s condition is True (ReadinessGatesNotReady); the kubelet keeps conditions others set'),
  resourceClaims: no('dynamic resource allocation is not served'),
  resources: no('pod-level resources are not applied'),
  restartPolicy: yes('Always, OnFailure and Never, with CrashLoopBackOff'),
  runtimeClassName: no('RuntimeClasses are not served'),
  schedulerName: yes('a scheduler acts only on pods that name it'),
  schedulingGates: yes('a gated pod is PodScheduled=False/SchedulingGated and not scheduled; gates may only be removed'),
  securityContext: { status: 'partly', note: 'see the PodSecurityContext table' },
  serviceAccount: yes('the deprecated alias of serviceAccountName'),
  serviceAccountName: yes('default when empty; the pod runs as it (its mounted token, TokenRequests bound to the pod), shown to the downward API'),
  setHostnameAsFQDN: yes('the hostname is the FQDN hostname.subdomain.namespace.svc.<cluster domain> (64 characters at most)'),
  shareProcessNamespace: yes('the containers share the sandbox\'s PID namespace (its pause process is PID 1)'),
  subdomain: yes('the pod\'s FQDN hostname.subdomain.namespace.svc.<cluster domain> in its /etc/hosts (hostname -f), and with a headless Service of that name in the cluster DNS'),
  terminationGracePeriodSeconds: yes('SIGTERM, then SIGKILL after the grace period'),
  tolerations: yes('the scheduler\'s taint filter and the node lifecycle controller\'s evictions'),
  topologySpreadConstraints: yes('the scheduler\'s PodTopologySpread plugin: maxSkew, DoNotSchedule/ScheduleAnyway, labelSelector, matchLabelKeys, minDomains, nodeAffinityPolicy and nodeTaintsPolicy'),
  volumes: yes('emptyDir (medium Memory: a tmpfs; sizeLimit: eviction, or the tmpfs size), hostPath with type checks, configMap, secret, downwardAPI, projected (configMap, secret, downwardAPI and serviceAccountToken sources; clusterTrustBundle is refused), persistentVolumeClaim (the bound volume\'s directory, readOnly honoured) and ephemeral (a claim per pod); other types are refused with FailedMount'),
};

export const CONTAINER: Record<string, Support> = {
  args: yes('with $(VAR) expansion'),
  command: yes('with $(VAR) expansion'),
  env: yes('values with $(VAR) expansion, valueFrom: fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef'),
  envFrom: yes('configMapRef and secretRef, with prefix'),
  image: yes('Docker images on this machine (or a local registry)'),
  imagePullPolicy: yes('Always, IfNotPresent and Never'),
  lifecycle: { status: 'partly', note: 'postStart and preStop with exec, httpGet and sleep (stopSignal is not applied)',
    check: (v) => ((v as Obj)?.stopSignal ? 'lifecycle.stopSignal: containers are stopped with SIGTERM' : undefined) },
  livenessProbe: yes('httpGet, tcpSocket, grpc (grpc.health.v1) and exec, with the probe\'s own terminationGracePeriodSeconds'),
  name: yes('the container\'s name'),
  ports: yes('containerPort is informational as in Kubernetes; hostPort is bound on the node\'s IP (or hostIP), and the scheduler keeps two pods from taking one'),
  readinessProbe: yes('httpGet, tcpSocket, grpc (grpc.health.v1) and exec'),
  resizePolicy: no('in-place resize is not supported'),
  resources: yes('limits become Docker cpu and memory limits; requests are what the scheduler fits'),
  restartPolicy: yes('Always on an init container makes it a sidecar'),
  restartPolicyRules: no('per-exit-code restart rules are not supported'),
  securityContext: { status: 'partly', note: 'see the SecurityContext table' },
  startupProbe: yes('httpGet, tcpSocket, grpc (grpc.health.v1) and exec, with the probe\'s own terminationGracePeriodSeconds'),
  stdin: yes('the container\'s stdin stays open for kubectl attach -i'),
  stdinOnce: yes('stdin is closed when the first attach ends'),
  terminationMessagePath: yes('a file mounted there; what the container writes (up to 4 KiB) becomes lastState.terminated.message'),
  terminationMessagePolicy: yes('File, and FallbackToLogsOnError (the last 80 lines, 2 KiB, of the log when the file is empty and the exit non-zero)'),
  tty: yes('the container gets a terminal (kubectl attach -t, its log is the terminal\'s output)'),
  volumeDevices: no('block volumes are not supported'),
  volumeMounts: { status: 'partly', note: 'mountPath, readOnly, subPath and subPathExpr', check: (v) => {
    const m = (Array.isArray(v) ? v : []).find((x: Obj) => (x?.mountPropagation && x.mountPropagation !== 'None') || (x?.recursiveReadOnly && x.recursiveReadOnly !== 'Disabled'));
    return m ? `mountPropagation/recursiveReadOnly of the mount at ${m.mountPath}` : undefined;
  } },
  workingDir: yes('the container\'s working directory'),
};

const na = (note: string): Support => ({ status: 'not applicable', note });
export const POD_SECURITY_CONTEXT: Record<string, Support> = {
  appArmorProfile: no('AppArmor profiles are not applied'),
  fsGroup: yes('emptyDir, configMap, secret, downwardAPI and projected volumes are group-owned by it (setgid directories, group rw — r for the read-only kinds) and every container gets it as a supplemental group'),
  fsGroupChangePolicy: yes('Always walks the volume each time it is set up; OnRootMismatch only when its root has another group or lacks the bits'),
  runAsGroup: yes('the containers\' primary group, unless a container sets its own'),
  runAsNonRoot: yes('checked against runAsUser, else the image\'s user: a root (or unset) or non-numeric user is refused with CreateContainerConfigError, as in Kubernetes'),
  runAsUser: yes('the containers\' user, unless a container sets its own'),
  seLinuxChangePolicy: no('SELinux is not used'),
  seLinuxOptions: no('SELinux labels are not applied'),
  seccompProfile: yes('RuntimeDefault (Docker\'s default profile), Unconfined (the default, as a kubelet without --seccomp-default), Localhost (a JSON profile under the kubelet\'s <root-dir>/seccomp); a container\'s own wins'),
  supplementalGroups: yes('extra groups of every container\'s first process'),
  supplementalGroupsPolicy: { status: 'partly', note: 'Merge (the image\'s /etc/group groups are kept)',
    check: (v) => (v === 'Strict' ? 'supplementalGroupsPolicy Strict: the image\'s groups are merged' : undefined) },
  sysctls: yes('the kubelet\'s safe sysctls, set in the pod\'s namespaces; any other sysctl rejects the pod (phase Failed, reason SysctlForbidden), as a kubelet without --allowed-unsafe-sysctls does'),
  windowsOptions: na('every kubemu node is linux'),
};
export const CONTAINER_SECURITY_CONTEXT: Record<string, Support> = {
  allowPrivilegeEscalation: yes('false sets no_new_privs (Docker\'s no-new-privileges)'),
  appArmorProfile: no('AppArmor profiles are not applied'),
  capabilities: yes('add and drop (names as in Kubernetes, ALL included)'),
  privileged: yes('a privileged Docker container (an engine that lacks some capabilities itself refuses it: RunContainerError)'),
  procMount: yes('Unmasked leaves /proc unmasked and writable; Default masks Kubernetes\' default paths'),
  readOnlyRootFilesystem: yes('the root filesystem is mounted read-only (volumes stay as mounted)'),
  runAsGroup: yes('the container\'s primary group'),
  runAsNonRoot: yes('as the pod\'s: CreateContainerConfigError with Kubernetes\' message'),
  runAsUser: yes('the container\'s user'),
  seLinuxOptions: no('SELinux labels are not applied'),
  seccompProfile: yes('RuntimeDefault, Unconfined (the default) or Localhost (a JSON profile under the kubelet\'s <root-dir>/seccomp)'),
  windowsOptions: na('every kubemu node is linux'),
};

const isSet = (v: unknown, s: Support) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)
  && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) && !(s.defaults ?? []).some((d) => d === v);

function report(obj: Obj | undefined, table: Record<string, Support>, prefix: string, out: string[], nested?: Record<string, [Record<string, Support>, string]>): void {
  for (const [field, s] of Object.entries(table)) {
    const v = obj?.[field];
    if (!isSet(v, s)) continue;
    const nest = nested?.[field];
    if (nest) { report(v as Obj, nest[0], `${prefix}${field}.`, out); continue; }
    if (s.status === 'not honoured') out.push(`${prefix}${field}: ${s.note}`);
    else if (s.status === 'partly') { const why = s.check?.(v); if (why) out.push(`${prefix}${field}: ${why}`); }
  }
}

/** Every field set in the pod that kubemu's kubelet and scheduler do not honour, as "path: why". */
export function unhonouredFields(pod: { spec?: Obj }): string[] {
  const out: string[] = [];
  report(pod.spec, POD_SPEC, 'spec.', out, { securityContext: [POD_SECURITY_CONTEXT, 'securityContext'] });
  for (const list of ['initContainers', 'containers'] as const) {
    (pod.spec?.[list] ?? []).forEach((c: Obj, i: number) => report(c, CONTAINER, `spec.${list}[${i}].`, out, { securityContext: [CONTAINER_SECURITY_CONTEXT, 'securityContext'] }));
  }
  return out;
}

/** docs/pod-spec.md, from the tables above. */
export function renderPodSpecDoc(): string {
  const table = (title: string, t: Record<string, Support>) => [
    `## ${title}`, '', '| field | kubemu | |', '|---|---|---|',
    ...Object.entries(t).sort(([a], [b]) => a.localeCompare(b)).map(([f, s]) => `| \`${f}\` | ${s.status} | ${s.note} |`), ''];
  return [
    '# The Pod spec in kubemu: every field, honoured or not',
    '',
    '<!-- Generated from kubelet/pod-spec-support.ts by `node --import tsx scripts/gen-pod-spec-doc.ts`; a test keeps them equal. -->',
    '',
    'Every field the API accepts in a Pod spec (and so in every pod template) is listed here with what kubemu does',
    'with it. A pod that sets a field kubemu does not honour gets a **Warning event, reason `NotHonoured`**, naming the',
    'field (`kubectl describe pod` shows it): it runs, but not as Kubernetes would run it. Nothing is ignored silently.',
    '',
    ...table('PodSpec', POD_SPEC),
    ...table('Container (also initContainers)', CONTAINER),
    ...table('PodSecurityContext (spec.securityContext)', POD_SECURITY_CONTEXT),
    ...table('SecurityContext (a container\'s securityContext)', CONTAINER_SECURITY_CONTEXT),
  ].join('\n');
}
