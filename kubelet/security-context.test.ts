// The pod's security settings as the kubelet hands them to the runtime, and its own two checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSecurityContext, DEFAULT_MASKED_PATHS, forbiddenSysctl, runAsNonRootError, sandboxLinuxConfig, seccompProfile } from './security-context.ts';

const pod = (spec: Record<string, unknown>, c: Record<string, unknown> = {}) => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'i', ...c }], ...spec },
});
const img = (u: { uid?: number; username?: string } = {}) => ({ id: 'sha256:x', repoTags: ['i'], size: 1, uid: u.uid === undefined ? null : { value: u.uid }, username: u.username ?? '' });

test('the container\'s fields win over the pod\'s; fsGroup then supplementalGroups are its extra groups', () => {
  const p = pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000, 2000] } }, { securityContext: { runAsUser: 1001 } });
  const sc = containerSecurityContext(p as any, p.spec.containers[0]!);
  assert.deepEqual(sc.runAsUser, { value: 1001 });
  assert.deepEqual(sc.runAsGroup, { value: 3000 });
  assert.deepEqual(sc.supplementalGroups, [2000, 4000]);
  assert.equal(sc.noNewPrivs, false);
  assert.deepEqual(sc.maskedPaths, DEFAULT_MASKED_PATHS);
  assert.deepEqual(sc.namespaceOptions, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' });
});

test('capabilities, no_new_privs, read-only root, privileged and procMount Unmasked', () => {
  const p = pod({ hostPID: true, hostNetwork: true }, { securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true, privileged: true, procMount: 'Unmasked' } });
  const sc = containerSecurityContext(p as any, p.spec.containers[0]!);
  assert.deepEqual(sc.capabilities, { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'] });
  assert.equal(sc.noNewPrivs, true);
  assert.equal(sc.readonlyRootfs, true);
  assert.equal(sc.privileged, true);
  assert.deepEqual([sc.maskedPaths, sc.readonlyPaths], [[], []]);
  assert.deepEqual(sc.namespaceOptions, { network: 'NODE', pid: 'NODE', ipc: 'POD' });
  assert.equal(sc.runAsUser, null); // neither runAsUser nor runAsGroup: the image's USER as it is
});

test('a runAsGroup without runAsUser goes with the image\'s user', () => {
  const p = pod({ securityContext: { runAsGroup: 3000 } });
  const named = containerSecurityContext(p as any, p.spec.containers[0]!, img({ username: 'nginx' }));
  assert.deepEqual([named.runAsUser, named.runAsUsername, named.runAsGroup], [null, 'nginx', { value: 3000 }]);
  const numeric = containerSecurityContext(p as any, p.spec.containers[0]!, img({ uid: 101 }));
  assert.deepEqual([numeric.runAsUser, numeric.runAsUsername], [{ value: 101 }, '']);
  const root = containerSecurityContext(p as any, p.spec.containers[0]!, img());
  assert.deepEqual([root.runAsUser, root.runAsUsername], [{ value: 0 }, '']);
});

test('shareProcessNamespace: the pod\'s PID namespace; the sandbox gets the sysctls and knows of privileged containers', () => {
  const p = pod({ shareProcessNamespace: true, securityContext: { sysctls: [{ name: 'net/ipv4/tcp_syncookies', value: '1' }] } }, { securityContext: { privileged: true } });
  const l = sandboxLinuxConfig(p as any);
  assert.equal(l.securityContext?.namespaceOptions?.pid, 'POD');
  assert.equal(l.securityContext?.privileged, true);
  assert.deepEqual(l.sysctls, { 'net.ipv4.tcp_syncookies': '1' });
});

test('runAsNonRoot: Kubernetes\' messages for a root, unset or named image user and for runAsUser 0', () => {
  const who = '(pod: "web_shop(u1)", container: c)';
  const nonRoot = pod({ securityContext: { runAsNonRoot: true } });
  const c = nonRoot.spec.containers[0]!;
  assert.equal(runAsNonRootError(nonRoot as any, c, img({ uid: 0 })), `container has runAsNonRoot and image will run as root ${who}`);
  assert.equal(runAsNonRootError(nonRoot as any, c, img()), `container has runAsNonRoot and image will run as root ${who}`);
  assert.equal(runAsNonRootError(nonRoot as any, c, img({ username: 'nginx' })), `container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root ${who}`);
  assert.equal(runAsNonRootError(nonRoot as any, c, img({ uid: 65532 })), undefined);
  const zero = pod({ securityContext: { runAsNonRoot: true } }, { securityContext: { runAsUser: 0 } });
  assert.equal(runAsNonRootError(zero as any, zero.spec.containers[0]!, img({ uid: 1000 })), `container's runAsUser breaks non-root policy ${who}`);
  const user = pod({ securityContext: { runAsNonRoot: true, runAsUser: 1000 } });
  assert.equal(runAsNonRootError(user as any, user.spec.containers[0]!, img({ uid: 0 })), undefined);
  assert.equal(runAsNonRootError(pod({}) as any, c, img({ uid: 0 })), undefined);
  const off = pod({ securityContext: { runAsNonRoot: true } }, { securityContext: { runAsNonRoot: false } });
  assert.equal(runAsNonRootError(off as any, off.spec.containers[0]!, img({ uid: 0 })), undefined);
});

test('sysctls: safe ones pass, others and namespaced ones shared with the host are forbidden', () => {
  const sys = (names: string[], spec: Record<string, unknown> = {}) => pod({ ...spec, securityContext: { sysctls: names.map((name) => ({ name, value: '1' })) } }) as any;
  assert.equal(forbiddenSysctl(sys(['net.ipv4.ip_local_port_range', 'kernel.shm_rmid_forced'])), undefined);
  assert.equal(forbiddenSysctl(sys(['kernel.msgmax'])), 'forbidden sysctl: "kernel.msgmax" not allowlisted');
  assert.equal(forbiddenSysctl(sys(['net.ipv4.tcp_syncookies'], { hostNetwork: true })), 'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled');
  assert.equal(forbiddenSysctl(sys(['kernel.shm_rmid_forced'], { hostIPC: true })), 'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled');
});

test('seccomp: unset is Unconfined, the container\'s profile wins over the pod\'s, Localhost is a file under <root-dir>/seccomp', () => {
  assert.deepEqual(seccompProfile(pod({}) as any, {}, '/var/lib/kubelet'), { profileType: 'Unconfined' });
  const p = pod({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } } });
  assert.deepEqual(seccompProfile(p as any, {}, '/k'), { profileType: 'RuntimeDefault' });
  assert.deepEqual(seccompProfile(p as any, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/deny.json' } } }, '/k'),
    { profileType: 'Localhost', localhostRef: '/k/seccomp/profiles/deny.json' });
});
