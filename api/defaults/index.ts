// Defaulting helpers shared by the kinds (apiserver/kinds/): what Kubernetes' v1 defaulters fill in for pod specs,
// pod templates and rolling updates (pkg/apis/*/v1/defaults.go), so stored objects look like a real cluster's.
// Each kind's own defaults live in its file under apiserver/kinds/. Mutates its argument.

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
  for (const c of spec.ephemeralContainers ?? []) if (c && typeof c === 'object') container(c);
  for (const v of spec.volumes ?? []) {
    if (v?.configMap) v.configMap.defaultMode ??= 420;
    if (v?.secret) v.secret.defaultMode ??= 420;
    if (v?.projected) {
      v.projected.defaultMode ??= 420;
      for (const src of v.projected.sources ?? []) if (src?.serviceAccountToken) src.serviceAccountToken.expirationSeconds ??= 3600;
    }
    if (v?.hostPath) v.hostPath.type ??= '';
  }
  for (const t of spec.tolerations ?? []) if (t && t.operator === undefined && t.key) t.operator = 'Equal';
}

/** A workload's pod template: metadata present, the pod spec defaulted. */
export function defaultTemplate(obj: Obj): void {
  if (obj.spec?.template) {
    obj.spec.template.metadata ??= {};
    defaultPodSpec(obj.spec.template.spec);
  }
}

/** A RollingUpdate strategy's maxUnavailable (and maxSurge where the kind has one). */
export function defaultRollingUpdate(strategy: Obj, maxUnavailable: unknown, maxSurge?: unknown): void {
  strategy.rollingUpdate ??= {};
  strategy.rollingUpdate.maxUnavailable ??= maxUnavailable;
  if (maxSurge !== undefined) strategy.rollingUpdate.maxSurge ??= maxSurge;
}
