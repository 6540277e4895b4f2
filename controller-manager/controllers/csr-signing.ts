// The csrsigning controller (pkg/controller/certificates/signer): an approved, not failed, not yet issued CSR for one
// of the kubernetes.io signers it serves is checked against that signer's rules — a request that breaks them gets a
// Failed condition (SignerValidationFailure) — and signed with the cluster CA (--cluster-signing-cert-file and
// --cluster-signing-key-file, read at each signing so a replaced CA is picked up), valid for --cluster-signing-duration
// or the request's shorter spec.expirationSeconds (at least 10 minutes), written to status.certificate.
// Without the two files the controller does not run, as in Kubernetes where it then signs nothing.
import fs from 'node:fs';
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { parseCsr, signCsr, type Usage } from '../../lib/pki.ts';
import { enqueueSelf, newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { SIGNERS, hasTrueCondition, isApproved, requestPem, signerRuleError } from './csr-util.ts';

export const DEFAULT_SIGNING_DURATION_SECONDS = 8760 * 3600;
const MIN_DURATION_SECONDS = 600;
const SERVED: string[] = Object.values(SIGNERS);

/** The certificate's lifetime: the signer's limit, or the request's shorter one (never under 10 minutes). */
export function signingDuration(limitSeconds: number, expirationSeconds: number | undefined): number {
  if (expirationSeconds === undefined || expirationSeconds === null) return limitSeconds;
  return Math.max(MIN_DURATION_SECONDS, Math.min(limitSeconds, expirationSeconds));
}

/** The key usages a request names, as the certificate's extended key usage. */
function usageOf(usages: string[]): Usage {
  const client = usages.includes('client auth'), server = usages.includes('server auth');
  return client && server ? 'both' : server ? 'server' : 'client';
}

export function newCsrSigningController(ctx: ControllerContext): Controller | undefined {
  const { client, logger, options } = ctx;
  const certFile = options.clusterSigningCertFile, keyFile = options.clusterSigningKeyFile;
  if (!certFile || !keyFile) {
    logger.info('no --cluster-signing-cert-file/--cluster-signing-key-file: the csrsigning controller does not run (approved CSRs stay unsigned)');
    return undefined;
  }
  const limit = options.clusterSigningDurationSeconds ?? DEFAULT_SIGNING_DURATION_SECONDS;
  const csrs = ctx.informers.get('certificatesigningrequests');
  const queue = newQueue();
  enqueueSelf(csrs, queue);

  async function reconcile(name: string): Promise<void> {
    const csr = csrs.get(name) as (KubeObject & { spec?: Record<string, any>; status?: Record<string, any> }) | undefined;
    if (!csr || !isApproved(csr) || hasTrueCondition(csr, 'Failed') || csr.status?.certificate) return;
    const signerName = String(csr.spec?.signerName ?? '');
    if (!SERVED.includes(signerName)) return;
    const usages: string[] = csr.spec?.usages ?? [];
    const req = await parseCsr(requestPem(csr));
    const broken = signerRuleError(signerName, req, usages);
    if (broken) {
      const failed = { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: broken, lastUpdateTime: now() };
      await client.updateStatus(R.certificatesigningrequests, undefined, { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), failed] } });
      logger.info({ csr: name, signerName, reason: broken }, 'refused to sign');
      return;
    }
    const ca = { cert: fs.readFileSync(certFile!, 'utf8'), key: fs.readFileSync(keyFile!, 'utf8') };
    const seconds = signingDuration(limit, csr.spec?.expirationSeconds);
    const cert = await signCsr(ca, req, usageOf(usages), seconds);
    await client.updateStatus(R.certificatesigningrequests, undefined, { ...csr, status: { ...csr.status, certificate: Buffer.from(cert).toString('base64') } });
    logger.info({ csr: name, signerName, commonName: req.commonName, seconds }, 'signed');
  }

  return { name: 'csrsigning', queue, reconcile, workers: 1 };
}
