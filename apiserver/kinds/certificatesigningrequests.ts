// CertificateSigningRequests (certificates.k8s.io/v1, pkg/registry/certificates/certificates and
// pkg/apis/certificates/validation): the requester's identity taken from the request (never the body), the PEM
// request parsed and its signature checked, usages and signerName validated, conditions that cannot be both
// Approved and Denied, the /approval subresource (conditions only) and /status (the signer's certificate), kubectl's
// columns. The signers and the approver are controllers (controller-manager/controllers/csr-*.ts).
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { dns1123Label } from '../../api/names.ts';
import type { KubeObject, UserInfo } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { isObj } from '../../api/validation/index.ts';
import { csrRequestError } from '../../lib/pki.ts';
import type { Kind } from './kind.ts';
import { age, humanDuration } from './printing.ts';

type Obj = Record<string, any>;

/** certificates.KeyUsage values (pkg/apis/certificates/types.go), as validation lists them: sorted. */
export const KEY_USAGES = ['any', 'cert sign', 'client auth', 'code signing', 'content commitment', 'crl sign', 'data encipherment',
  'decipher only', 'digital signature', 'email protection', 'encipher only', 'ipsec end system', 'ipsec tunnel', 'ipsec user',
  'key agreement', 'key encipherment', 'microsoft sgc', 'netscape sgc', 'ocsp signing', 's/mime', 'server auth', 'signing', 'timestamping'];

const TRUE_ONLY = ['Approved', 'Denied', 'Failed'];
const LEGACY_SIGNER = 'kubernetes.io/legacy-unknown';

/** base64 (as JSON carries []byte) → text; undefined when it is not base64. */
export function decodeBytes(v: unknown): string | undefined {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('latin1');
}

/** apivalidation.ValidateSignerName: `<domain>/<path>`, the domain DNS labels with at least one dot. */
function signerNameErrors(field: string, name: unknown): FieldError[] {
  if (typeof name !== 'string' || !name) return [fieldRequired(field)];
  const segments = name.split('/');
  if (segments.length !== 2) return [fieldInvalid(field, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")];
  const errs: FieldError[] = [];
  const labels = segments[0]!.split('.');
  for (const l of labels) {
    const bad = dns1123Label(l);
    if (bad.length) { errs.push(...bad.map((e) => fieldInvalid(field, segments[0], `validating label ${JSON.stringify(l)}: ${e}`))); break; }
  }
  if (labels.length < 2) errs.push(fieldInvalid(field, segments[0], 'should be a domain with at least two segments separated by dots'));
  if (!segments[1]) errs.push(fieldInvalid(field, segments[1], 'path segment must not be empty'));
  return errs;
}

/** status.certificate: PEM CERTIFICATE blocks only (validateCertificate). */
function certificateError(pem: string): string | undefined {
  const blocks = [...pem.matchAll(/-----BEGIN ([^-]+)-----([\s\S]*?)-----END \1-----/g)];
  if (!blocks.length) return 'must contain at least one CERTIFICATE PEM block';
  for (const b of blocks) {
    if (b[1] !== 'CERTIFICATE') return `only CERTIFICATE PEM blocks are allowed, found ${JSON.stringify(b[1])}`;
    if (/:/.test(b[2]!)) return 'no PEM block headers are permitted';
  }
  return undefined;
}

const conditionsOf = (o: Obj): Obj[] => (isObj(o.status) && Array.isArray(o.status.conditions) ? o.status.conditions : []);
const ofType = (o: Obj, t: string) => conditionsOf(o).filter((c) => c?.type === t);

function validateConditions(o: Obj, old: Obj | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const oldTypes = old ? conditionsOf(old).map((c) => c?.type) : [];
  const bothOk = oldTypes.includes('Approved') && oldTypes.includes('Denied');
  const seen = new Set<string>();
  let approved = false, denied = false;
  conditionsOf(o).forEach((c, i) => {
    const f = `status.conditions[${i}]`;
    if (!isObj(c)) { errs.push(fieldInvalid(f, c, 'must be an object')); return; }
    if (!c.type) errs.push(fieldRequired(`${f}.type`));
    const allowed = TRUE_ONLY.includes(c.type) ? ['True'] : ['False', 'True', 'Unknown'];
    if (!c.status) errs.push(fieldRequired(`${f}.status`));
    else if (!allowed.includes(c.status)) errs.push(fieldNotSupported(`${f}.status`, c.status, allowed));
    if (!bothOk && c.type === 'Approved') { approved = true; if (denied) errs.push(fieldInvalid(`${f}.type`, c.type, 'Approved and Denied conditions are mutually exclusive')); }
    if (!bothOk && c.type === 'Denied') { denied = true; if (approved) errs.push(fieldInvalid(`${f}.type`, c.type, 'Approved and Denied conditions are mutually exclusive')); }
    if (seen.has(c.type)) errs.push(fieldDuplicate(`${f}.type`, c.type));
    seen.add(c.type);
  });
  return errs;
}

function validate(o: Obj, old?: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const s = o.spec;
  if (!isObj(s)) return [fieldRequired('spec')];
  const pem = decodeBytes(s.request);
  const reqErr = pem === undefined ? 'PEM block type must be CERTIFICATE REQUEST' : csrRequestError(pem);
  if (reqErr) errs.push(fieldInvalid('spec.request', s.request ?? '', reqErr));
  const usages: unknown[] = Array.isArray(s.usages) ? s.usages : [];
  if (s.usages !== undefined && s.usages !== null && !Array.isArray(s.usages)) errs.push(fieldInvalid('spec.usages', s.usages, 'must be a list of strings'));
  else if (!usages.length) errs.push(fieldRequired('spec.usages'));
  const oldUsages: unknown[] = Array.isArray(old?.spec?.usages) ? old.spec.usages : [];
  if (!oldUsages.some((u) => !KEY_USAGES.includes(u as string))) {
    usages.forEach((u, i) => { if (!KEY_USAGES.includes(u as string)) errs.push(fieldNotSupported(`spec.usages[${i}]`, u, KEY_USAGES)); });
  }
  usages.forEach((u, i) => { if (usages.indexOf(u) !== i) errs.push(fieldDuplicate(`spec.usages[${i}]`, u)); });
  if (s.signerName === LEGACY_SIGNER && old?.spec?.signerName !== LEGACY_SIGNER) errs.push(fieldInvalid('spec.signerName', s.signerName, 'the legacy signerName is not allowed via this API version'));
  else errs.push(...signerNameErrors('spec.signerName', s.signerName));
  if (s.expirationSeconds !== undefined && s.expirationSeconds !== null) {
    if (!Number.isInteger(s.expirationSeconds)) errs.push(fieldInvalid('spec.expirationSeconds', s.expirationSeconds, 'must be an integer'));
    else if (s.expirationSeconds < 600) errs.push(fieldInvalid('spec.expirationSeconds', s.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  if (o.status !== undefined && !isObj(o.status)) return [...errs, fieldInvalid('status', o.status, 'must be an object')];
  const conds = o.status?.conditions;
  if (conds !== undefined && conds !== null && !Array.isArray(conds)) errs.push(fieldInvalid('status.conditions', conds, 'must be a list of conditions'));
  errs.push(...validateConditions(o, old));
  const cert = o.status?.certificate;
  if (cert !== undefined && cert !== '' && cert !== old?.status?.certificate) {
    const text = decodeBytes(cert);
    const err = text === undefined ? 'illegal base64 data' : certificateError(text);
    if (err) errs.push(fieldInvalid('status.certificate', '<certificate data>', err));
  }
  return errs;
}

/**
 * validateCertificateSigningRequestUpdate beyond validate (which the registry runs too): conditions never removed,
 * approval only via /approval, the certificate only via /status and only once.
 */
function validateUpdate(o: Obj, old: Obj, via: 'main' | 'status' | 'approval'): FieldError[] {
  const errs: FieldError[] = [];
  for (const t of ['Approved', 'Denied', 'Failed']) {
    if (ofType(o, t).length < ofType(old, t).length) errs.push(fieldForbidden('status.conditions', `updates may not remove a condition of type ${JSON.stringify(t)}`));
  }
  if (via !== 'approval') {
    for (const t of ['Approved', 'Denied']) {
      const a = ofType(old, t), b = ofType(o, t);
      if (b.length > a.length) errs.push(fieldForbidden('status.conditions', `updates may not add a condition of type ${JSON.stringify(t)}`));
      else if (b.length === a.length && JSON.stringify(a) !== JSON.stringify(b)) errs.push(fieldForbidden('status.conditions', `updates may not modify a condition of type ${JSON.stringify(t)}`));
    }
  }
  const cert = o.status?.certificate ?? '', oldCert = old.status?.certificate ?? '';
  if (cert !== oldCert) {
    if (via !== 'status') errs.push(fieldForbidden('status.certificate', 'updates may not set certificate content'));
    else if (oldCert) errs.push(fieldForbidden('status.certificate', 'updates may not modify existing certificate content'));
  }
  return errs;
}

/** populateConditionTimestamps: lastUpdateTime now when unset; lastTransitionTime kept from the same condition, else now. */
function stampConditions(o: Obj, old: Obj): void {
  const t = now();
  for (const c of conditionsOf(o)) {
    if (!isObj(c)) continue;
    c.lastUpdateTime ||= t;
    if (!c.lastTransitionTime) {
      const prev = conditionsOf(old).find((p) => p?.type === c.type && p?.status === c.status);
      c.lastTransitionTime = prev?.lastTransitionTime || t;
    }
  }
}

/** The Approved and Denied conditions of `old`, in place of those of `next` (what a /status write may not touch). */
function keepApproval(next: Obj, old: Obj): void {
  if (!isObj(next.status)) return;
  const approval = (c: Obj) => c?.type === 'Approved' || c?.type === 'Denied';
  const kept = conditionsOf(next).filter((c) => !approval(c));
  const conditions = [...conditionsOf(old).filter(approval), ...kept];
  if (conditions.length) next.status.conditions = conditions; else delete next.status.conditions;
}

/** kubectl's CONDITION column (extractCSRStatus): Denied over Approved over Pending, then Failed and Issued. */
export function csrCondition(o: Obj): string {
  const types = new Set(conditionsOf(o).map((c) => c?.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (o.status?.certificate) s += ',Issued';
  return s;
}

export const certificatesigningrequests: Kind = {
  // "We don't care what you call your certificate requests" (ValidateCertificateRequestName): kubelets name theirs
  // node-csr-<base64url digest>, upper case included.
  nameRule: 'pathSegment',
  prepareForCreate(obj, user?: UserInfo) {
    const o = obj as Obj;
    // Who asked is who authenticated: the body's username, uid, groups and extra are replaced.
    if (isObj(o.spec)) {
      for (const f of ['username', 'uid', 'groups', 'extra']) delete o.spec[f];
      if (user) {
        o.spec.username = user.username;
        if (user.uid) o.spec.uid = user.uid;
        if (user.groups.length) o.spec.groups = [...user.groups];
        if (user.extra && Object.keys(user.extra).length) o.spec.extra = structuredClone(user.extra);
      }
    }
    o.status = {};
  },
  prepareForUpdate(next, stored) {
    (next as Obj).spec = structuredClone((stored as Obj).spec);
    next.status = structuredClone(stored.status);
  },
  prepareForStatusUpdate(next, stored) {
    keepApproval(next as Obj, stored as Obj);
    stampConditions(next as Obj, stored as Obj);
  },
  validate: (o) => validate(o),
  validateUpdate: (o, old) => validateUpdate(o as Obj, old as Obj, 'main'),
  validateStatus: (o, old) => [...validate(o as Obj, old as Obj), ...validateUpdate(o as Obj, old as Obj, 'status')],
  update: {
    approval: {
      // Updating the approval changes the conditions only: spec and certificate stay as stored.
      merge(stored, incoming) {
        const next = structuredClone(stored) as Obj;
        const conditions = (incoming as Obj).status?.conditions;
        next.status = { ...(next.status ?? {}) };
        if (conditions === undefined || conditions === null) delete next.status.conditions; else next.status.conditions = structuredClone(conditions);
        if (incoming.metadata?.labels) next.metadata.labels = incoming.metadata.labels;
        if (incoming.metadata?.annotations) next.metadata.annotations = incoming.metadata.annotations;
        stampConditions(next, stored as Obj);
        return next as KubeObject;
      },
      validate: (next, stored) => validateUpdate(next as Obj, stored as Obj, 'approval'),
    },
  },
  fields: (o) => ({ 'spec.signerName': String(o.spec?.signerName ?? '') }),
  printer: {
    withoutName: true,
    columns: [{ name: 'Name', format: 'name', description: 'Name must be unique within a namespace.' }, { name: 'Age' }, { name: 'SignerName' },
      { name: 'Requestor' }, { name: 'RequestedDuration' }, { name: 'Condition' }],
    cells: (o) => [o.metadata.name, age(o.metadata.creationTimestamp), o.spec?.signerName || '<none>', o.spec?.username ?? '',
      typeof o.spec?.expirationSeconds === 'number' ? humanDuration(o.spec.expirationSeconds * 1000) : '<none>', csrCondition(o)],
  },
};
