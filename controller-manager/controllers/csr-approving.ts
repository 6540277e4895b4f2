// The csrapproving controller (pkg/controller/certificates/approver/sarapprove.go): a pending CSR for the kubelet
// client signer whose request is a valid kubelet client request is approved when its requester may ask for it —
//   nodeclient: a new node's certificate, asked by a bootstrap token (system:bootstrappers);
//   selfnodeclient: a renewal, asked by system:node:<name> for CN=system:node:<name> itself (system:nodes).
// Kubernetes asks a SubjectAccessReview (create certificatesigningrequests/nodeclient or /selfnodeclient), which
// kubeadm's ClusterRoleBindings grant to exactly these groups; kubemu has no RBAC yet, so the groups are checked
// directly. As a kubemu choice, a kubelet-serving CSR from system:node:<name> for itself is approved too when every
// DNS and IP SAN is one of that Node's own names or addresses (Kubernetes leaves these to an operator or a third-party
// approver). Anything else stays pending for `kubectl certificate approve|deny`.
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { parseCsr } from '../../lib/pki.ts';
import { enqueueSelf, newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { SIGNERS, hasTrueCondition, kubeletClientError, kubeletServingError, requestPem } from './csr-util.ts';

type Obj = Record<string, any>;

export function newCsrApprovingController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const csrs = ctx.informers.get('certificatesigningrequests');
  const nodes = ctx.informers.get('nodes');
  const queue = newQueue();
  enqueueSelf(csrs, queue);

  /** Why this CSR is auto-approved (the condition's message), or undefined to leave it. */
  async function approval(csr: KubeObject & Obj): Promise<string | undefined> {
    const spec = csr.spec ?? {};
    const groups: string[] = spec.groups ?? [];
    const usages: string[] = spec.usages ?? [];
    const req = await parseCsr(requestPem(csr));
    if (spec.signerName === SIGNERS.kubeletClient && !kubeletClientError(req, usages)) {
      if (spec.username === req.commonName && groups.includes('system:nodes')) return 'Auto approving self kubelet client certificate after SubjectAccessReview.';
      if (groups.includes('system:bootstrappers')) return 'Auto approving kubelet client certificate after SubjectAccessReview.';
      return undefined;
    }
    if (spec.signerName === SIGNERS.kubeletServing && !kubeletServingError(req, usages) && spec.username === req.commonName && groups.includes('system:nodes')) {
      const node = nodes.get(req.commonName.slice('system:node:'.length)) as Obj | undefined;
      if (!node) return undefined;
      const own = new Set<string>([node.metadata.name, ...((node.status?.addresses ?? []) as Obj[]).map((a) => String(a.address))]);
      if ([...req.dnsNames, ...req.ipAddresses].every((n) => own.has(n))) return 'Auto approving kubelet serving certificate: its names are the node\'s own (kubemu).';
    }
    return undefined;
  }

  async function reconcile(name: string): Promise<void> {
    const csr = csrs.get(name) as (KubeObject & Obj) | undefined;
    if (!csr || csr.status?.certificate) return;
    if (['Approved', 'Denied', 'Failed'].some((t) => hasTrueCondition(csr, t))) return;
    const message = await approval(csr);
    if (!message) return;
    const approved = { type: 'Approved', status: 'True', reason: 'AutoApproved', message, lastUpdateTime: now() };
    await client.patch(R.certificatesigningrequests, undefined, name,
      { metadata: { resourceVersion: csr.metadata.resourceVersion }, status: { conditions: [...(csr.status?.conditions ?? []), approved] } }, { subresource: 'approval' });
    logger.info({ csr: name, requestor: csr.spec?.username }, 'approved');
  }

  return { name: 'csrapproving', queue, reconcile, workers: 1 };
}
