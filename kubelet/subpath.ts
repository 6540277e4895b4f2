// subPath and subPathExpr of a volumeMount, resolved safely. Validation already refuses ".." and absolute paths;
// the kubelet checks again on disk, because a container may have put a symlink inside the volume that points out
// of it (Kubernetes' CVE-2017-1002101): the resolved path must stay inside the volume's real directory.
import fs from 'node:fs';
import path from 'node:path';

type Obj = Record<string, any>;

/** `$(VAR)` in subPathExpr becomes the container's environment variable VAR (empty when unset), as Kubernetes expands it. */
export function expandSubPathExpr(expr: string, env: Map<string, string>): string {
  return expr.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : env.get(name!) ?? ''));
}

/** The host path to bind for `mount` of volume directory `volumeDir`; throws when it would leave the volume. */
export function resolveSubPath(volumeDir: string, mount: Obj, env: Map<string, string>): string {
  const sub: string = mount.subPathExpr ? expandSubPathExpr(String(mount.subPathExpr), env) : String(mount.subPath ?? '');
  if (!sub) return volumeDir;
  const what = `subPath "${sub}" of volumeMount "${mount.name}"`;
  if (path.isAbsolute(sub) || sub.split(/[\\/]/).includes('..')) throw new Error(`${what} must be a relative path inside the volume`);
  const root = fs.realpathSync(volumeDir);
  const target = path.join(root, sub);
  // Create what is missing (Kubernetes does), one component at a time, never following a link out of the volume.
  let cur = root;
  for (const part of path.relative(root, target).split(path.sep)) {
    cur = path.join(cur, part);
    if (!fs.existsSync(cur)) fs.mkdirSync(cur);
    const real = fs.realpathSync(cur);
    if (real !== root && !real.startsWith(root + path.sep)) throw new Error(`${what} resolves to ${real}, outside the volume`);
    cur = real;
  }
  return cur;
}
