// A container's termination message, as the kubelet reads it: a host file bind-mounted at terminationMessagePath
// (default /dev/termination-log) that the process may write before it exits; its first 4096 bytes become
// state.terminated.message. With terminationMessagePolicy FallbackToLogsOnError, an empty file and a non-zero exit
// give the last 80 lines (at most 2048 bytes) of the container's log instead.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { ContainerStatus, Mount, RuntimeService } from './cri/types.ts';

type Obj = Record<string, any>;

const MAX_FILE = 4096;
const MAX_LOG_BYTES = 2048;
const MAX_LOG_LINES = 80;

const file = (rootDir: string, pod: KubeObject, name: string, attempt: number) =>
  path.join(rootDir, 'pods', pod.metadata.uid!, 'containers', name, String(attempt));

/** The mount of the container's termination-log file (made empty, writable by any user the container runs as). */
export function terminationLogMount(rootDir: string, pod: KubeObject, c: Obj, attempt: number): Mount {
  const p = file(rootDir, pod, c.name, attempt);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '');
  fs.chmodSync(p, 0o666);
  return { containerPath: c.terminationMessagePath || '/dev/termination-log', hostPath: p };
}

/** Messages of exited containers, by container id: an exited container does not change. */
const cache = new Map<string, string>();

/** The termination message of an exited container ('' when there is none). */
export async function terminationMessage(rootDir: string, pod: KubeObject, c: Obj, s: ContainerStatus, rt: RuntimeService): Promise<string> {
  if (s.state !== 'CONTAINER_EXITED') return '';
  const known = cache.get(s.id);
  if (known !== undefined) return known;
  let msg = '';
  try {
    const fd = fs.openSync(file(rootDir, pod, c.name, s.metadata.attempt), 'r');
    try {
      const buf = Buffer.alloc(MAX_FILE);
      msg = buf.subarray(0, fs.readSync(fd, buf, 0, MAX_FILE, 0)).toString('utf8');
    } finally { fs.closeSync(fd); }
  } catch { /* no file: a container from before this kubelet, or one that could not mount it */ }
  if (!msg && c.terminationMessagePolicy === 'FallbackToLogsOnError' && s.exitCode !== 0) {
    const chunks: Buffer[] = [];
    try { for await (const ch of rt.containerLogs(s.id, { tail: MAX_LOG_LINES })) chunks.push(ch.data); } catch { /* no logs */ }
    const all = Buffer.concat(chunks);
    msg = all.subarray(Math.max(0, all.length - MAX_LOG_BYTES)).toString('utf8');
  }
  if (cache.size > 5000) cache.delete(cache.keys().next().value!);
  cache.set(s.id, msg);
  return msg;
}
