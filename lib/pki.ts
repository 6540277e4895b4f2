// The cluster PKI's primitives: a CA, certificates it issues, CSRs and their checks. EC P-256 keys (fast to
// make, what kubeadm's --encryption-algorithm=ECDSA-P256 gives) and @peculiar/x509 for the ASN.1. Everything
// is PEM text in and out: that is what the files in <dir>/pki/, kubeconfigs and node:tls take.
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from '@peculiar/x509';
import crypto, { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Certificates start a little in the past, as kubeadm's do, so a clock behind by a few minutes still accepts them. */
const BACKDATE = 5 * 60_000;

export interface KeyPair { cert: string; key: string }

/** What a leaf certificate is for: TLS client (x509 authentication), TLS server, or both. */
export type Usage = 'client' | 'server' | 'both';

export interface CertificateRequest {
  commonName: string;
  /** O= entries: the groups of an x509 user. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: Usage;
  /** Validity; default one year, as kubeadm's leaf certificates. */
  days?: number;
}

export interface CertificateInfo {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** The issuer's certificate verifies this one's signature (PEM). */
  signedBy(caPem: string): Promise<boolean>;
}

async function newKey(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** PEM text ending in a newline, so files of several blocks concatenate cleanly. */
const nl = (pem: string): string => `${pem.trimEnd()}\n`;

async function keyPem(key: CryptoKey): Promise<string> {
  return nl(x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'));
}

async function importKey(pem: string): Promise<CryptoKey> {
  // node:crypto reads any PEM (PKCS#8 or SEC1 "EC PRIVATE KEY"); webcrypto then takes the PKCS#8 form.
  const der = crypto.createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
}

/** A positive 128-bit serial number, as RFC 5280 asks. */
function serialNumber(): string {
  const b = crypto.randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

/** X.500 names quote nothing: a CN or O with a comma, plus, quote or equals sign would change the name's meaning. */
function dn(commonName: string, organizations: string[] = []): string {
  const bad = [commonName, ...organizations].find((v) => !v || /[,+="\\<>;#]/.test(v));
  if (bad !== undefined) throw new Error(`certificate name ${JSON.stringify(bad)}: empty or has one of , + = " \\ < > ; #`);
  return [...organizations.map((o) => `O=${o}`), `CN=${commonName}`].join(', ');
}

/** A self-signed CA (CN kubernetes, as kubeadm's), valid ten years. */
export async function createCA(commonName = 'kubernetes', days = 3650): Promise<KeyPair> {
  const keys = await newKey();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: dn(commonName), keys, signingAlgorithm: SIGN,
    notBefore: new Date(now - BACKDATE), notAfter: new Date(now + days * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: nl(cert.toString('pem')), key: await keyPem(keys.privateKey) };
}

function usageExtensions(usage: Usage): x509.Extension[] {
  const eku = { client: [x509.ExtendedKeyUsage.clientAuth], server: [x509.ExtendedKeyUsage.serverAuth], both: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] }[usage];
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
  ];
}

function sanExtension(dnsNames: string[] = [], ipAddresses: string[] = []): x509.Extension[] {
  const names = [...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((value) => ({ type: 'ip' as const, value }))];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

async function sign(ca: KeyPair, o: { subject: string; publicKey: CryptoKey | x509.PublicKey; days: number; extensions: x509.Extension[]; notBefore?: Date }): Promise<string> {
  const caCert = new x509.X509Certificate(ca.cert);
  const now = Date.now();
  const notAfter = Math.min(now + o.days * DAY, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: o.subject, issuer: caCert.subject,
    notBefore: o.notBefore ?? new Date(now - BACKDATE), notAfter: new Date(notAfter),
    signingAlgorithm: SIGN, publicKey: o.publicKey, signingKey: await importKey(ca.key),
    extensions: [
      ...o.extensions,
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return nl(cert.toString('pem'));
}

/** A new key and a certificate for it, issued by `ca`. */
export async function issueCertificate(ca: KeyPair, req: CertificateRequest): Promise<KeyPair> {
  const keys = await newKey();
  const cert = await sign(ca, {
    subject: dn(req.commonName, req.organizations), publicKey: keys.publicKey, days: req.days ?? 365,
    extensions: [...usageExtensions(req.usage), ...sanExtension(req.dnsNames, req.ipAddresses)],
  });
  return { cert, key: await keyPem(keys.privateKey) };
}

/** A test's certificate that expired an hour ago (what an expired-certificate check needs; never issued by kubemu itself). */
export async function issueExpiredCertificate(ca: KeyPair, req: CertificateRequest): Promise<KeyPair> {
  const keys = await newKey();
  const caCert = new x509.X509Certificate(ca.cert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: dn(req.commonName, req.organizations), issuer: caCert.subject,
    notBefore: new Date(Date.now() - 2 * DAY), notAfter: new Date(Date.now() - 3_600_000),
    signingAlgorithm: SIGN, publicKey: keys.publicKey, signingKey: await importKey(ca.key),
    extensions: [...usageExtensions(req.usage), ...sanExtension(req.dnsNames, req.ipAddresses)],
  });
  return { cert: nl(cert.toString('pem')), key: await keyPem(keys.privateKey) };
}

export interface ParsedCsr {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  /** The request's signature checks out against its own public key. */
  signatureValid: boolean;
  csr: x509.Pkcs10CertificateRequest;
}

/** A CSR and a key for it (what a kubelet's TLS bootstrap sends; also the tests' way to make one). */
export async function createCsr(o: { commonName: string; organizations?: string[]; dnsNames?: string[]; ipAddresses?: string[] }): Promise<{ csr: string; key: string }> {
  const keys = await newKey();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: dn(o.commonName, o.organizations), keys, signingAlgorithm: SIGN, extensions: sanExtension(o.dnsNames, o.ipAddresses),
  });
  return { csr: nl(csr.toString('pem')), key: await keyPem(keys.privateKey) };
}

function nameParts(name: x509.Name): { commonName: string; organizations: string[] } {
  const json = name.toJSON();
  const all = (type: string) => json.flatMap((rdn) => rdn[type] ?? []);
  return { commonName: all('CN')[0] ?? '', organizations: all('O') };
}

/** The subjectAltName extension, read from its raw bytes (getExtension by class misses it on parsed CSRs). */
function sans(exts: readonly x509.Extension[]) {
  const raw = exts.find((e) => e.type === '2.5.29.17');
  const items = raw ? new x509.SubjectAlternativeNameExtension(raw.rawData).names.items : [];
  const of = (t: string) => items.filter((n) => n.type === t).map((n) => n.value);
  return { dnsNames: of('dns'), ipAddresses: of('ip'), emailAddresses: of('email'), uris: of('url') };
}

/** A PEM "CERTIFICATE REQUEST" read; throws with a short reason when it is not one. */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  if (!/-----BEGIN CERTIFICATE REQUEST-----/.test(pem)) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  let csr: x509.Pkcs10CertificateRequest;
  try { csr = new x509.Pkcs10CertificateRequest(pem); } catch (err) { throw new Error(`asn1: ${(err as Error).message}`); }
  let signatureValid = false;
  try { signatureValid = await csr.verify(); } catch { signatureValid = false; }
  return { ...nameParts(csr.subjectName), ...sans(csr.extensions), signatureValid, csr };
}

/** Sign a CSR's public key and names with `ca` for `usage`, valid `seconds` (capped by the CA's own expiry). */
export async function signCsr(ca: KeyPair, parsed: ParsedCsr, usage: Usage, seconds: number): Promise<string> {
  const publicKey = parsed.csr.publicKey;
  return sign(ca, {
    subject: parsed.csr.subject, publicKey, days: seconds / 86_400,
    extensions: [...usageExtensions(usage), ...sanExtension(parsed.dnsNames, parsed.ipAddresses)],
  });
}

/** What a certificate says, for checks and for reusing files in <dir>/pki/. */
export function inspectCertificate(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    ...nameParts(cert.subjectName), ...sans(cert.extensions),
    notBefore: cert.notBefore, notAfter: cert.notAfter, isCA: !!bc?.ca,
    async signedBy(caPem: string) {
      try { return await cert.verify({ publicKey: await new x509.X509Certificate(caPem).publicKey.export(EC, ['verify']), signatureOnly: true }); } catch { return false; }
    },
  };
}

/** The first element of a DER SEQUENCE, whole (tag and length too): a CSR's signed part, certificationRequestInfo. */
function firstElement(der: Buffer): Buffer {
  const lengthAt = (at: number): [number, number] => {
    const b = der[at]!;
    if (b < 0x80) return [b, at + 1];
    const n = b & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[at + 1 + i]!;
    return [len, at + 1 + n];
  };
  if (der[0] !== 0x30) throw new Error('asn1: structure error: not a SEQUENCE');
  const [, inner] = lengthAt(1);
  const [len, body] = lengthAt(inner + 1);
  return der.subarray(inner, body + len);
}

/**
 * Why a PEM CSR is not acceptable (undefined: it is), synchronously, as validation runs: Go's messages —
 * x509.ParseCertificateRequest's and CheckSignature's ("x509: ECDSA verification failure").
 */
export function csrRequestError(pem: string): string | undefined {
  if (!/-----BEGIN CERTIFICATE REQUEST-----/.test(pem)) return 'PEM block type must be CERTIFICATE REQUEST';
  let csr: x509.Pkcs10CertificateRequest;
  try { csr = new x509.Pkcs10CertificateRequest(pem); } catch (err) { return `asn1: ${(err as Error).message}`; }
  const alg = csr.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = alg.hash?.name.replace('-', '').toLowerCase();
  try {
    const key = crypto.createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    const tbs = firstElement(Buffer.from(csr.rawData));
    const ok = crypto.verify(alg.name === 'Ed25519' ? null : hash ?? null, tbs, key, Buffer.from(csr.signature));
    if (ok) return undefined;
  } catch { /* an unreadable key or signature fails as a bad signature */ }
  return { ECDSA: 'x509: ECDSA verification failure', 'RSASSA-PKCS1-v1_5': 'crypto/rsa: verification error', Ed25519: 'x509: Ed25519 verification failure' }[alg.name]
    ?? 'x509: cannot verify signature: algorithm unimplemented';
}
