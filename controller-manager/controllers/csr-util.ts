// What the CSR controllers share (pkg/apis/certificates/v1/helpers.go, pkg/controller/certificates): conditions,
// the request's PEM, and the kubelet signers' rules on a request — Kubernetes' checks and error texts.
import type { KubeObject } from '../../api/types.ts';
import type { ParsedCsr } from '../../lib/pki.ts';

export const SIGNERS = {
  apiserverClient: 'kubernetes.io/kube-apiserver-client',
  kubeletClient: 'kubernetes.io/kube-apiserver-client-kubelet',
  kubeletServing: 'kubernetes.io/kubelet-serving',
} as const;

type Obj = Record<string, any>;
const conditions = (csr: KubeObject): Obj[] => ((csr as Obj).status?.conditions ?? []) as Obj[];
export const hasTrueCondition = (csr: KubeObject, type: string): boolean => conditions(csr).some((c) => c.type === type && c.status === 'True');
export const isApproved = (csr: KubeObject): boolean => hasTrueCondition(csr, 'Approved') && !hasTrueCondition(csr, 'Denied');
export const requestPem = (csr: KubeObject): string => Buffer.from(String((csr as Obj).spec?.request ?? ''), 'base64').toString();
export const certificatePem = (csr: KubeObject): string => Buffer.from(String((csr as Obj).status?.certificate ?? ''), 'base64').toString();

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
/** Go's %v of a sorted []string. */
const goList = (xs: string[]) => `[${[...xs].sort().join(' ')}]`;

const CLIENT_USAGES = ['digital signature', 'key encipherment', 'client auth'];
const SERVING_USAGES = ['digital signature', 'key encipherment', 'server auth'];

function nodeSubject(req: ParsedCsr): string | undefined {
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  return undefined;
}

/** ValidateKubeletClientCSR: O=system:nodes, CN=system:node:…, no SANs, digital signature (+ key encipherment) + client auth. */
export function kubeletClientError(req: ParsedCsr, usages: string[]): string | undefined {
  const org = nodeSubject(req);
  if (org) return org;
  if (req.dnsNames.length) return 'DNS subjectAltNames are not allowed';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.ipAddresses.length) return 'IP subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  const set = [...new Set(usages)];
  if (!sameSet(CLIENT_USAGES, set) && !sameSet(['digital signature', 'client auth'], set)) return `usages did not match ${goList(CLIENT_USAGES)}`;
  return undefined;
}

/** ValidateKubeletServingCSR: O=system:nodes, DNS or IP SANs only, digital signature (+ key encipherment) + server auth, CN=system:node:…. */
export function kubeletServingError(req: ParsedCsr, usages: string[]): string | undefined {
  const org = nodeSubject(req);
  if (org) return org;
  if (!req.dnsNames.length && !req.ipAddresses.length) return 'DNS or IP subjectAltName is required';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  const set = [...new Set(usages)];
  if (!sameSet(SERVING_USAGES, set) && !sameSet(['digital signature', 'server auth'], set)) return `usages did not match ${goList(SERVING_USAGES)}`;
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  return undefined;
}

/** validAPIServerClientUsages: client auth required; digital signature and key encipherment optional; nothing else. */
export function apiserverClientError(usages: string[]): string | undefined {
  for (const u of usages) if (!['digital signature', 'key encipherment', 'client auth'].includes(u)) return `invalid usage for client certificate: ${u}`;
  if (!usages.includes('client auth')) return 'missing required usage for client certificate: client auth';
  return undefined;
}

/** The signer's rule for a request (undefined: it may be signed), by signerName. */
export function signerRuleError(signerName: string, req: ParsedCsr, usages: string[]): string | undefined {
  if (signerName === SIGNERS.kubeletClient) return kubeletClientError(req, usages);
  if (signerName === SIGNERS.kubeletServing) return kubeletServingError(req, usages);
  return apiserverClientError(usages);
}
