// The csrcleaner controller (pkg/controller/certificates/cleaner): CSRs are not kept forever — an issued one goes
// an hour after its approval or once its certificate has expired, a denied or failed one an hour after that
// condition, a pending one after 24 hours. Checked when a CSR changes and again when its deadline comes.
import type { KubeObject } from '../../api/types.ts';
import { inspectCertificate } from '../../lib/pki.ts';
import { enqueueSelf, newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { ignoreNotFound } from '../pods.ts';
import { R } from '../informers.ts';
import { certificatePem } from './csr-util.ts';

type Obj = Record<string, any>;
const HOUR = 3_600_000;
export const APPROVED_EXPIRATION_MS = HOUR;
export const DENIED_EXPIRATION_MS = HOUR;
export const PENDING_EXPIRATION_MS = 24 * HOUR;

/** When this CSR is to be removed (ms since the epoch), by the first rule that applies; Infinity: never. */
export function csrDeadline(csr: KubeObject & Obj): number {
  const conds: Obj[] = csr.status?.conditions ?? [];
  const at = (type: string) => {
    const c = conds.find((x) => x.type === type && x.status === 'True');
    return c ? Date.parse(c.lastUpdateTime ?? c.lastTransitionTime ?? csr.metadata.creationTimestamp) : undefined;
  };
  const deadlines: number[] = [];
  const approved = at('Approved'), denied = at('Denied'), failed = at('Failed');
  if (csr.status?.certificate) {
    if (approved !== undefined) deadlines.push(approved + APPROVED_EXPIRATION_MS);
    try { deadlines.push(inspectCertificate(certificatePem(csr)).notAfter.getTime()); } catch { /* not a certificate: the approval rule decides */ }
  }
  if (denied !== undefined) deadlines.push(denied + DENIED_EXPIRATION_MS);
  if (failed !== undefined) deadlines.push(failed + DENIED_EXPIRATION_MS);
  if (approved === undefined && denied === undefined && failed === undefined) deadlines.push(Date.parse(csr.metadata.creationTimestamp!) + PENDING_EXPIRATION_MS);
  return deadlines.length ? Math.min(...deadlines) : Infinity;
}

export function newCsrCleanerController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const csrs = ctx.informers.get('certificatesigningrequests');
  const queue = newQueue();
  enqueueSelf(csrs, queue);

  async function reconcile(name: string): Promise<void> {
    const csr = csrs.get(name) as (KubeObject & Obj) | undefined;
    if (!csr || csr.metadata.deletionTimestamp) return;
    const left = csrDeadline(csr) - Date.now();
    if (left > 0) {
      // Timers past ~24 days overflow; an hourly recheck is what Kubernetes' polling does anyway.
      if (Number.isFinite(left)) queue.addAfter(name, Math.min(left + 1000, HOUR));
      return;
    }
    const deleted = await client.delete(R.certificatesigningrequests, undefined, name, { preconditions: { uid: csr.metadata.uid } }).then(() => true, ignoreNotFound);
    if (deleted) logger.info({ csr: name }, 'removed an old CSR');
  }

  return { name: 'csrcleaner', queue, reconcile, workers: 1 };
}
