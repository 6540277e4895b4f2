// Who holds the cluster-IP lease, seen from this host. The lease identity is `<host>_<node>_<pid>`, so a
// kube-proxy on the same host can tell at once that the holder died (killed with its node) instead of
// waiting for the lease to expire.
import fs from 'node:fs';
import os from 'node:os';

/** Whether a lease identity `<host>_<node>_<pid>` names this host and no kube-proxy runs under that pid
 *  any more (a pid reused by another program counts as gone; one we may not inspect counts as alive). */
export function deadOnThisHost(identity: string, hostname = os.hostname()): boolean {
  const parts = identity.split('_');
  const pid = Number(parts.at(-1));
  if (parts.length < 3 || parts[0] !== hostname || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    return !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kube-proxy');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

