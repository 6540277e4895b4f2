// A pod's volumes as host directories the runtime bind-mounts, the way the kubelet's volume plugins make them:
//   emptyDir — a directory that lives as long as the pod;
//   hostPath — the host's path, after Kubernetes' `type` check (DirectoryOrCreate, Directory, FileOrCreate, File,
//              Socket, CharDevice, BlockDevice);
//   configMap, secret, downwardAPI, projected — files written by an atomic writer as Kubernetes' AtomicWriter does:
//              the data sits in a timestamped directory, `..data` links to it and each visible name links into
//              `..data`, so an update (refreshVolumes, every REFRESH_MS) swaps one symlink and a container never sees
//              half of it. A subPath mount resolves the link once, at start, so it does not follow updates — as in
//              Kubernetes. A projected serviceAccountToken is a TokenRequest bound to the pod (token-manager.ts),
//              renewed on these refreshes once it is 80% through its lifetime.
//   emptyDir with medium Memory — a tmpfs (memory-backed, sized by tmpfsSizeBytes) that the runtime mounts, held by
//              the pod sandbox; a disk emptyDir over its sizeLimit gets the pod evicted (emptyDirOverLimit).
//   persistentVolumeClaim, ephemeral — the bound PersistentVolume's directory (local.path or hostPath.path); a
//              kubemu.io/local-path volume's directory is made here, on first mount, by the node that owns it. An
//              unbound claim fails the mount with the kubelet's message, retried until the PV controller binds it.
// Any other volume type is refused with a clear FailedMount message instead of an empty directory.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { parseQuantity } from '../api/quantity.ts';
import { LOCAL_PATH_PROVISIONER, PROVISIONED_BY_ANNOTATION } from '../api/storage.ts';
import { TokenManager } from './token-manager.ts';

type Obj = Record<string, any>;

export interface VolumeDeps {
  client: ApiClient; rootDir: string; nodeName: string; nodeIP: string;
  /** Where a volume setting that cannot be applied is reported (a Warning event on the pod). */
  event?(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The ServiceAccount tokens of projected volumes (default: one manager per API client). */
  tokens?: TokenManager;
}

const managers = new WeakMap<ApiClient, TokenManager>();
/** The token manager the volumes of this client's pods share. */
export function tokenManager(deps: Pick<VolumeDeps, 'client' | 'tokens'>): TokenManager {
  if (deps.tokens) return deps.tokens;
  let m = managers.get(deps.client);
  if (!m) managers.set(deps.client, m = new TokenManager(deps.client));
  return m;
}

/** How often the kubelet rewrites configMap/secret/downwardAPI/projected volumes from their sources. */
export const REFRESH_MS = 10_000;
const DEFAULT_MODE = 0o644;
const SUPPORTED = ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim', 'ephemeral'];

export class VolumeError extends Error {}

const volumeDir = (pod: KubeObject, deps: VolumeDeps, name: string) => path.join(deps.rootDir, 'pods', pod.metadata.uid!, 'volumes', name);

/** Every volume of the pod made (or refreshed); volume name → host path. Throws VolumeError for what cannot be mounted. */
export async function setUpVolumes(pod: KubeObject, deps: VolumeDeps): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const v of (pod.spec?.volumes ?? []) as Obj[]) {
    const kind = SUPPORTED.find((k) => v[k] !== undefined);
    const fail = (why: string) => { throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${why}`); };
    if (!kind) fail(`volume type ${Object.keys(v).filter((k) => k !== 'name').join(', ') || '(none)'} is not supported by kubemu (supported: ${SUPPORTED.join(', ')})`);
    if (kind === 'hostPath') { dirs.set(v.name, checkHostPath(v.hostPath, fail)); continue; }
    if (kind === 'persistentVolumeClaim' || kind === 'ephemeral') {
      const dir = await claimDir(pod, kind === 'ephemeral' ? `${pod.metadata.name}-${v.name}` : v.persistentVolumeClaim.claimName, deps, fail);
      applyFsGroup(pod, v.name, dir, false, deps);
      dirs.set(v.name, dir);
      continue;
    }
    const dir = volumeDir(pod, deps, v.name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    if (kind !== 'emptyDir') {
      const files = await volumeFiles(pod, v, kind!, deps, fail);
      if (files) writeAtomically(dir, files);
    }
    applyFsGroup(pod, v.name, dir, kind !== 'emptyDir', deps);
    dirs.set(v.name, dir);
  }
  return dirs;
}

/** Rewrites the data volumes of a running pod from their current sources (missing sources keep the old data). */
export async function refreshVolumes(pod: KubeObject, deps: VolumeDeps): Promise<void> {
  for (const v of (pod.spec?.volumes ?? []) as Obj[]) {
    const kind = ['configMap', 'secret', 'downwardAPI', 'projected'].find((k) => v[k] !== undefined);
    if (!kind) continue;
    const dir = volumeDir(pod, deps, v.name);
    if (!fs.existsSync(dir)) continue;
    const files = await volumeFiles(pod, v, kind, deps, () => { throw new VolumeError('source gone'); }).catch(() => undefined);
    if (files) { writeAtomically(dir, files); applyFsGroup(pod, v.name, dir, true, deps); }
  }
}

const reportedOwnership = new Set<string>();

/**
 * The pod's fsGroup on one of the volumes Kubernetes manages ownership of (not hostPath), per fsGroupChangePolicy.
 * A kubelet that is not root cannot give files away: the modes are still set and a Warning says what is missing.
 */
function applyFsGroup(pod: KubeObject, name: string, dir: string, readonly: boolean, deps: VolumeDeps): void {
  const sc = pod.spec?.securityContext ?? {};
  if (typeof sc.fsGroup !== 'number') return;
  try {
    setVolumeOwnership(dir, sc.fsGroup, readonly, sc.fsGroupChangePolicy === 'OnRootMismatch');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    if (reportedOwnership.has(dir)) return;
    reportedOwnership.add(dir);
    deps.event?.(pod, 'Warning', 'NotHonoured', `kubemu does not honour spec.securityContext.fsGroup on volume "${name}": the kubelet is not root, so it cannot make the files group ${sc.fsGroup}'s (see docs/pod-security.md)`);
  }
}

/**
 * Kubernetes' SetVolumeOwnership: every file and directory group-owned by fsGroup and group-readable (and writable,
 * unless the volume is read-only — configMap, secret, downwardAPI, projected), directories also group-searchable
 * and setgid so what the containers create inherits the group. OnRootMismatch skips the walk when the volume's root
 * already has that group and those bits.
 */
export function setVolumeOwnership(dir: string, fsGroup: number, readonly: boolean, onRootMismatch = false): void {
  const mask = readonly ? 0o440 : 0o660;
  const dirMask = mask | 0o110 | 0o2000;
  if (onRootMismatch) {
    const st = fs.statSync(dir);
    if (st.gid === fsGroup && (st.mode & dirMask) === dirMask) return;
  }
  let denied: unknown; // a chown refused (the kubelet is not root): the modes are still set, then it is thrown
  const walk = (p: string) => {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    try { if (st.gid !== fsGroup) fs.lchownSync(p, st.uid, fsGroup); } catch (err) { denied ??= err; }
    if (st.isSymbolicLink()) return;
    fs.chmodSync(p, (st.mode & 0o7777) | (st.isDirectory() ? dirMask : mask));
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  if (denied) throw denied;
}

/** A volume mounted read-only as a whole (persistentVolumeClaim.readOnly), beside each mount's own readOnly. */
export const volumeReadOnly = (pod: KubeObject, name: string): boolean =>
  Boolean(((pod.spec?.volumes ?? []) as Obj[]).find((v) => v.name === name)?.persistentVolumeClaim?.readOnly);

/** The host directory of the volume a claim is bound to (kubelet's getPVCExtractPV, then the volume plugin's path). */
async function claimDir(pod: KubeObject, claimName: string, deps: VolumeDeps, fail: (why: string) => never): Promise<string> {
  const ns = pod.metadata.namespace ?? 'default';
  const claim = await deps.client.get({ group: '', resource: 'persistentvolumeclaims' }, ns, claimName).catch(() => undefined);
  if (!claim) return fail(`persistentvolumeclaim "${claimName}" not found`);
  if (claim.metadata.deletionTimestamp && !(pod.status?.containerStatuses ?? []).length) return fail(`persistentvolumeclaim "${claimName}" is being deleted`);
  if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) {
    return fail(`PVC ${ns}/${claimName} has non-bound phase (${JSON.stringify(claim.status?.phase ?? '')}) or empty pvc.Spec.VolumeName (${JSON.stringify(claim.spec?.volumeName ?? '')})`);
  }
  const pv = await deps.client.get({ group: '', resource: 'persistentvolumes' }, undefined, claim.spec.volumeName).catch(() => undefined);
  if (!pv) return fail(`persistentvolume "${claim.spec.volumeName}" not found`);
  if (pv.spec?.hostPath) return checkHostPath(pv.spec.hostPath, fail);
  const p = pv.spec?.local?.path;
  if (!p) return fail(`persistentvolume "${pv.metadata.name}" has no local or hostPath source kubemu can mount`);
  if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] === LOCAL_PATH_PROVISIONER && !fs.existsSync(p)) {
    try { mkdirs(p, 0o777); fs.chmodSync(p, 0o777); } catch (err) { return fail(`mkdir ${p}: ${(err as Error).message}`); }
  }
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return fail(`path "${p}" does not exist`);
  if (!st.isDirectory()) return fail(`path "${p}" is not a directory`);
  return p;
}

function checkHostPath(hp: Obj, fail: (why: string) => never): string {
  const p = String(hp.path ?? '');
  const type = hp.type ?? '';
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  const want = (ok: boolean, what: string) => { if (!ok) fail(`hostPath type check failed: ${p} is not ${what}`); };
  switch (type) {
    case '': break;
    case 'DirectoryOrCreate':
      if (!stat) made(() => mkdirs(p, 0o755), `mkdir ${p}`, fail); else want(stat.isDirectory(), 'a directory');
      break;
    case 'FileOrCreate':
      if (!stat) made(() => { mkdirs(path.dirname(p), 0o755); fs.writeFileSync(p, '', { mode: 0o644 }); }, `create ${p}`, fail); else want(stat.isFile(), 'a file');
      break;
    case 'Directory': want(Boolean(stat?.isDirectory()), 'a directory'); break;
    case 'File': want(Boolean(stat?.isFile()), 'a file'); break;
    case 'Socket': want(Boolean(stat?.isSocket()), 'a socket file'); break;
    case 'CharDevice': want(Boolean(stat?.isCharacterDevice()), 'a character device'); break;
    case 'BlockDevice': want(Boolean(stat?.isBlockDevice()), 'a block device'); break;
    default: fail(`invalid HostPathType ${JSON.stringify(type)}`);
  }
  return p;
}

/**
 * mkdir -p one level at a time. (Node's recursive mkdirSync never returns for some paths under /proc — it retries
 * the parent forever — and it would block the kubelet's whole event loop.)
 */
export function mkdirs(p: string, mode: number): void {
  const parts = path.resolve(p).split('/').filter(Boolean);
  let cur = '';
  for (const part of parts) {
    cur += `/${part}`;
    const st = fs.statSync(cur, { throwIfNoEntry: false });
    if (st) { if (!st.isDirectory()) throw Object.assign(new Error(`${cur} is not a directory`), { code: 'ENOTDIR' }); continue; }
    try { fs.mkdirSync(cur, { mode }); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; }
  }
}

/** A path a hostPath type asks to create, or the reason it cannot be (`mkdir /proc/x: no such file or directory`). */
function made(make: () => void, what: string, fail: (why: string) => never): void {
  try { make(); } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(`${what}: ${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'ENOTDIR' ? 'not a directory' : e.code === 'EROFS' ? 'read-only file system' : e.message}`);
  }
}

/**
 * The size of a memory-backed emptyDir's tmpfs, as the kubelet sizes it: the smallest of its sizeLimit and the memory
 * the pod may use (the sum of its containers' limits when every one has a limit, else the node's allocatable memory).
 */
export function tmpfsSizeBytes(pod: KubeObject, v: Obj, allocatableMemory?: string): number {
  const containers: Obj[] = pod.spec?.containers ?? [];
  const limits = containers.map((c) => c.resources?.limits?.memory);
  const podMemory = containers.length && limits.every(Boolean) ? limits.reduce((n, q) => n + (parseQuantity(q) ?? 0), 0) : parseQuantity(allocatableMemory ?? '') ?? 0;
  const sizes = [v.emptyDir?.sizeLimit ? parseQuantity(v.emptyDir.sizeLimit) ?? 0 : 0, podMemory].filter((n) => n > 0);
  return sizes.length ? Math.floor(Math.min(...sizes)) : 64 * 1024 * 1024;
}

/** The pod's memory-backed emptyDirs as runtime mounts (host path = the volume's directory, the tmpfs' identity). */
export function memoryVolumes(pod: KubeObject, deps: VolumeDeps & { allocatable?: { memory?: string } }): Array<{ name: string; containerPath: string; hostPath: string; tmpfsSizeBytes: number }> {
  return ((pod.spec?.volumes ?? []) as Obj[]).filter((v) => v.emptyDir?.medium === 'Memory')
    .map((v) => ({ name: v.name as string, containerPath: '', hostPath: volumeDir(pod, deps, v.name), tmpfsSizeBytes: tmpfsSizeBytes(pod, v, deps.allocatable?.memory) }));
}

/** Bytes used under a directory, as du counts them (allocated blocks). */
function diskUsage(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      total += st.blocks * 512;
      if (e.isDirectory()) walk(p);
    }
  };
  try { walk(dir); } catch { /* gone meanwhile */ }
  return total;
}

/**
 * The eviction manager's emptyDir check: Kubernetes' message for the first disk-backed emptyDir whose usage exceeds
 * its sizeLimit (a memory-backed one cannot: its tmpfs is that size).
 */
export function emptyDirOverLimit(pod: KubeObject, deps: VolumeDeps): string | undefined {
  for (const v of (pod.spec?.volumes ?? []) as Obj[]) {
    if (!v.emptyDir?.sizeLimit || v.emptyDir.medium === 'Memory') continue;
    const limit = parseQuantity(v.emptyDir.sizeLimit) ?? 0;
    if (limit > 0 && diskUsage(volumeDir(pod, deps, v.name)) > limit) return `Usage of EmptyDir volume "${v.name}" exceeds the limit "${v.emptyDir.sizeLimit}". `;
  }
  return undefined;
}

type Files = Map<string, { data: Buffer; mode: number }>;

async function volumeFiles(pod: KubeObject, v: Obj, kind: string, deps: VolumeDeps, fail: (why: string) => never): Promise<Files | undefined> {
  const files: Files = new Map();
  const ns = pod.metadata.namespace;
  const defaultMode = (kind === 'projected' ? v.projected : v[kind])?.defaultMode ?? DEFAULT_MODE;
  const addObject = async (source: Obj, secret: boolean) => {
    const name = secret ? source.secretName ?? source.name : source.name;
    const obj = await deps.client.get({ group: '', resource: secret ? 'secrets' : 'configmaps' }, ns, name).catch(() => undefined);
    if (!obj) {
      if (source.optional) return;
      fail(`${secret ? 'secret' : 'configmap'} "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries((obj!.data ?? {}) as Record<string, string>)) data.set(k, secret ? Buffer.from(val, 'base64') : Buffer.from(val));
    if (!secret) for (const [k, val] of Object.entries((obj!.binaryData ?? {}) as Record<string, string>)) data.set(k, Buffer.from(val, 'base64'));
    if (Array.isArray(source.items) && source.items.length) {
      for (const it of source.items) {
        const d = data.get(it.key);
        if (d === undefined) {
          if (source.optional) continue;
          fail(secret ? `references non-existent secret key: ${it.key}` : `configmap references non-existent config key: ${it.key}`);
        }
        files.set(it.path, { data: d!, mode: it.mode ?? source.defaultMode ?? defaultMode });
      }
    } else for (const [k, d] of data) files.set(k, { data: d, mode: source.defaultMode ?? defaultMode });
  };
  const addDownward = (items: Obj[], mode: number) => {
    for (const it of items ?? []) files.set(it.path, { data: Buffer.from(downwardValue(pod, it, deps, fail)), mode: it.mode ?? mode });
  };
  if (kind === 'configMap') await addObject(v.configMap, false);
  else if (kind === 'secret') await addObject(v.secret, true);
  else if (kind === 'downwardAPI') addDownward(v.downwardAPI.items, defaultMode);
  else {
    for (const src of v.projected.sources ?? []) {
      if (src.configMap) await addObject({ ...src.configMap, defaultMode }, false);
      else if (src.secret) await addObject({ ...src.secret, secretName: src.secret.name, defaultMode }, true);
      else if (src.downwardAPI) addDownward(src.downwardAPI.items, defaultMode);
      else if (src.serviceAccountToken) files.set(src.serviceAccountToken.path, await projectedToken(pod, src.serviceAccountToken, defaultMode, deps, fail));
      else fail(`projected source ${Object.keys(src).join(', ')} is not supported by kubemu (supported: configMap, secret, downwardAPI, serviceAccountToken)`);
    }
  }
  return files;
}

/**
 * A serviceAccountToken projection (pkg/volume/projected): a token for the pod's ServiceAccount bound to the pod, for the
 * projection's audience (none: the API's own). With an fsGroup the file is 0600, made group-readable by the ownership pass.
 */
async function projectedToken(pod: KubeObject, tp: Obj, defaultMode: number, deps: VolumeDeps, fail: (why: string) => never): Promise<{ data: Buffer; mode: number }> {
  const mode = typeof pod.spec?.securityContext?.fsGroup === 'number' ? 0o600 : defaultMode;
  try {
    const token = await tokenManager(deps).get(pod.metadata.namespace ?? 'default', pod.spec?.serviceAccountName || 'default', {
      ...(tp.audience ? { audiences: [tp.audience] } : {}),
      expirationSeconds: tp.expirationSeconds ?? 3600,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name!, uid: pod.metadata.uid! },
    });
    return { data: Buffer.from(token), mode };
  } catch (err) {
    return fail(`failed to fetch token: ${(err as Error).message}`);
  }
}

/** Kubernetes' FormatMap: one `key="value"` line per entry, sorted by key. */
const formatMap = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');

function downwardValue(pod: KubeObject, it: Obj, deps: VolumeDeps, fail: (why: string) => never): string {
  if (it.fieldRef) {
    const f = String(it.fieldRef.fieldPath);
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(f);
    if (m) return (pod.metadata as Obj)[m[1]!]?.[m[2]!] ?? '';
    switch (f) {
      case 'metadata.name': return pod.metadata.name!;
      case 'metadata.namespace': return pod.metadata.namespace!;
      case 'metadata.uid': return pod.metadata.uid!;
      case 'metadata.labels': return formatMap(pod.metadata.labels);
      case 'metadata.annotations': return formatMap(pod.metadata.annotations);
      default: return fail(`unsupported fieldPath for a downwardAPI volume: ${f}`);
    }
  }
  if (it.resourceFieldRef) {
    const r = it.resourceFieldRef;
    const c = (pod.spec?.containers ?? []).find((x: Obj) => x.name === r.containerName);
    if (!c) return fail(`resourceFieldRef names no container ${JSON.stringify(r.containerName)}`);
    const [kind, res] = String(r.resource).split('.') as [string, string];
    const q = c.resources?.[kind]?.[res] ?? (kind === 'requests' ? c.resources?.limits?.[res] : undefined) ?? '0';
    const d = parseQuantity(r.divisor ?? '1') || 1;
    return String(Math.ceil((parseQuantity(q) ?? 0) / d - 1e-9));
  }
  return fail(`downwardAPI item ${JSON.stringify(it.path)} has neither fieldRef nor resourceFieldRef`);
}

/** Kubernetes' AtomicWriter: the files in a fresh `..<time>` directory, `..data` swapped to it in one rename. */
export function writeAtomically(dir: string, files: Files): void {
  const dataLink = path.join(dir, '..data');
  const current = fs.existsSync(dataLink) ? fs.readlinkSync(dataLink) : undefined;
  if (current && sameContent(path.join(dir, current), files)) return;
  const ts = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const tsDir = path.join(dir, ts);
  fs.mkdirSync(tsDir, { mode: 0o755 });
  for (const [rel, f] of files) {
    const target = path.join(tsDir, rel);
    if (!target.startsWith(tsDir + path.sep)) continue; // validation refuses such paths; never write outside
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.data, { mode: f.mode });
    fs.chmodSync(target, f.mode);
  }
  const tmp = path.join(dir, `..data_tmp.${process.pid}`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(ts, tmp);
  fs.renameSync(tmp, dataLink);
  // The visible names: one link per top-level entry, into ..data; names no longer there go.
  const top = new Set([...files.keys()].map((rel) => rel.split('/')[0]!));
  for (const name of top) {
    const link = path.join(dir, name);
    const st = fs.lstatSync(link, { throwIfNoEntry: false });
    if (!st) fs.symlinkSync(path.join('..data', name), link);
    else if (!st.isSymbolicLink()) { fs.rmSync(link, { recursive: true, force: true }); fs.symlinkSync(path.join('..data', name), link); }
  }
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== '..data' && entry !== ts) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
      continue;
    }
    if (!top.has(entry) && fs.lstatSync(path.join(dir, entry)).isSymbolicLink()) fs.rmSync(path.join(dir, entry), { force: true });
  }
}

function sameContent(tsDir: string, files: Files): boolean {
  try {
    const list = (d: string, pre = ''): string[] => fs.readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? list(path.join(d, e.name), `${pre}${e.name}/`) : [`${pre}${e.name}`]));
    const have = list(tsDir).sort();
    if (have.join('\0') !== [...files.keys()].sort().join('\0')) return false;
    return [...files].every(([rel, f]) => {
      const p = path.join(tsDir, rel);
      // (fsGroup may have added group bits to the mode: still the same.)
      const mode = fs.statSync(p).mode & 0o777;
      return fs.readFileSync(p).equals(f.data) && (mode === f.mode || (mode & ~0o660) === (f.mode & ~0o660));
    });
  } catch {
    return false;
  }
}
