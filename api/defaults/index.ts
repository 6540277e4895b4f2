// Defaulting: fills in what Kubernetes' v1 defaulters fill in (pkg/apis/*/v1/defaults.go),
// so stored objects look like the ones a real cluster returns. Mutates obj.
import type { ResourceInfo } from '../resources.ts';
import type { KubeObject } from '../types.ts';

type Obj = Record<string, any>;

function probe(p: Obj | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) { p.httpGet.path ??= '/'; p.httpGet.scheme ??= 'HTTP'; }
}

/** What imagePullPolicy defaults to for an image: Always without a tag or with :latest, else IfNotPresent. */
export function defaultImagePullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const lastSegment = image.split('/').pop() ?? '';
  const tag = lastSegment.includes('@') ? 'digest' : lastSegment.includes(':') ? lastSegment.split(':').pop() : '';
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function container(c: Obj): void {
  c.imagePullPolicy ??= defaultImagePullPolicy(String(c.image ?? ''));
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  // Limits without requests: requests default to the limits (Kubernetes does this for every resource).
  if (c.resources.limits) {
    c.resources.requests = { ...c.resources.limits, ...(c.resources.requests ?? {}) };
  }
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  probe(c.livenessProbe); probe(c.readinessProbe); probe(c.startupProbe);
}

export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  if (spec.serviceAccountName || spec.serviceAccount) {
    spec.serviceAccountName ??= spec.serviceAccount;
    spec.serviceAccount ??= spec.serviceAccountName;
  }
  for (const c of spec.containers ?? []) if (c && typeof c === 'object') container(c);
  for (const c of spec.initContainers ?? []) if (c && typeof c === 'object') container(c);
  for (const v of spec.volumes ?? []) {
    if (v?.configMap) v.configMap.defaultMode ??= 420;
    if (v?.secret) v.secret.defaultMode ??= 420;
    if (v?.hostPath) v.hostPath.type ??= '';
  }
  for (const t of spec.tolerations ?? []) if (t && t.operator === undefined && t.key) t.operator = 'Equal';
}

function template(obj: Obj): void {
  if (obj.spec?.template) {
    obj.spec.template.metadata ??= {};
    defaultPodSpec(obj.spec.template.spec);
  }
}

function rollingUpdate(strategy: Obj, maxUnavailable: unknown, maxSurge?: unknown): void {
  strategy.rollingUpdate ??= {};
  strategy.rollingUpdate.maxUnavailable ??= maxUnavailable;
  if (maxSurge !== undefined) strategy.rollingUpdate.maxSurge ??= maxSurge;
}

const DEFAULTERS: Record<string, (o: Obj) => void> = {
  pods(o) {
    defaultPodSpec(o.spec);
    // A pod on the node's network listens on the node: each container port is its host port (Pods only, not templates).
    if (o.spec?.hostNetwork) {
      for (const c of [...(o.spec.initContainers ?? []), ...(o.spec.containers ?? [])]) for (const p of c?.ports ?? []) if (p && !p.hostPort) p.hostPort = p.containerPort;
    }
  },
  services(o) {
    const s = (o.spec ??= {});
    s.type ??= 'ClusterIP';
    s.sessionAffinity ??= 'None';
    if (s.type !== 'ExternalName') s.internalTrafficPolicy ??= 'Cluster';
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
    for (const p of s.ports ?? []) {
      if (!p || typeof p !== 'object') continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
  },
  endpoints(o) {
    for (const sub of o.subsets ?? []) for (const p of sub?.ports ?? []) if (p) p.protocol ??= 'TCP';
  },
  secrets(o) {
    o.type ??= 'Opaque';
    // stringData is write-only: the apiserver folds it into data (base64) as Kubernetes does.
    if (o.stringData && typeof o.stringData === 'object') {
      o.data = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
      delete o.stringData;
    }
  },
  namespaces(o) { o.spec ??= {}; o.spec.finalizers ??= ['kubernetes']; o.status ??= {}; o.status.phase ??= 'Active'; },
  replicationcontrollers(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.minReadySeconds ??= 0;
    // An RC without a selector selects its template's labels.
    if (!s.selector && s.template?.metadata?.labels) s.selector = { ...s.template.metadata.labels };
    if (!o.metadata.labels && s.template?.metadata?.labels) o.metadata.labels = { ...s.template.metadata.labels };
    template(o);
  },
  deployments(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.strategy ??= { type: 'RollingUpdate' };
    s.strategy.type ??= 'RollingUpdate';
    if (s.strategy.type === 'RollingUpdate') rollingUpdate(s.strategy, '25%', '25%');
    s.revisionHistoryLimit ??= 10;
    s.progressDeadlineSeconds ??= 600;
    template(o);
  },
  replicasets(o) { (o.spec ??= {}).replicas ??= 1; template(o); },
  daemonsets(o) {
    const s = (o.spec ??= {});
    s.updateStrategy ??= { type: 'RollingUpdate' };
    if (s.updateStrategy.type === 'RollingUpdate') rollingUpdate(s.updateStrategy, 1, 0);
    s.revisionHistoryLimit ??= 10;
    template(o);
  },
  statefulsets(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.podManagementPolicy ??= 'OrderedReady';
    s.updateStrategy ??= { type: 'RollingUpdate' };
    if (s.updateStrategy.type === 'RollingUpdate') { s.updateStrategy.rollingUpdate ??= {}; s.updateStrategy.rollingUpdate.partition ??= 0; }
    s.revisionHistoryLimit ??= 10;
    s.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
    template(o);
  },
  jobs(o) {
    const s = (o.spec ??= {});
    // Neither set: one pod to completion. Only parallelism set: completions stays unset (work queue).
    if (s.completions === undefined && s.parallelism === undefined) s.completions = 1;
    s.parallelism ??= 1;
    s.backoffLimit ??= 6;
    s.completionMode ??= 'NonIndexed';
    s.suspend ??= false;
    s.podReplacementPolicy ??= 'TerminatingOrFailed';
    template(o);
  },
  cronjobs(o) {
    const s = (o.spec ??= {});
    s.concurrencyPolicy ??= 'Allow';
    s.suspend ??= false;
    s.successfulJobsHistoryLimit ??= 3;
    s.failedJobsHistoryLimit ??= 1;
    const jt = s.jobTemplate;
    if (jt?.spec) DEFAULTERS.jobs({ metadata: {}, spec: jt.spec });
  },
};

export function applyDefaults(info: ResourceInfo, obj: KubeObject): void {
  if (!obj || typeof obj !== 'object') return;
  obj.metadata ??= {};
  // A malformed spec is left for validation to report, not defaulted into a crash.
  const isObj = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
  if (!isObj(obj.spec) || !isObj(obj.spec?.template) || !isObj(obj.spec?.template?.spec)) return;
  try {
    DEFAULTERS[info.resource]?.(obj as Obj);
  } catch {
    // Wrong types deeper down (e.g. a string where a list belongs): validation reports them.
  }
}
