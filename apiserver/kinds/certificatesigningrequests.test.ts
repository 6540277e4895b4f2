// CertificateSigningRequest rules without a server: the requester from the request, the request's signature
// (Kubernetes' message for a bad one), usages, signerName, expirationSeconds, conditions, and the columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createCsr } from '../../lib/pki.ts';
import { certificatesigningrequests as csrs, csrCondition } from './certificatesigningrequests.ts';

type Obj = Record<string, any>;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The PEM with one bit of its signature flipped (the last bytes of the DER are the signature). */
function badSignature(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  der[der.length - 3]! ^= 1;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

const make = (request: string, extra: Obj = {}): Obj => ({
  apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'c' },
  spec: { request: b64(request), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], ...extra },
});

test('the requester comes from the request, not the body; status is cleared', async () => {
  const { csr } = await createCsr({ commonName: 'alice' });
  const o = make(csr, { username: 'forged', groups: ['system:masters'] });
  o.status = { certificate: 'x' };
  csrs.prepareForCreate!(o as KubeObject, { username: 'bob', uid: 'u1', groups: ['devs'], extra: { a: ['b'] } });
  assert.deepEqual([o.spec.username, o.spec.uid, o.spec.groups, o.spec.extra, o.status], ['bob', 'u1', ['devs'], { a: ['b'] }, {}]);
});

test('a valid request passes; a bad signature, usages, signerName and expirationSeconds get Kubernetes\' messages', async () => {
  const { csr } = await createCsr({ commonName: 'alice' });
  assert.deepEqual(csrs.validate!(make(csr)), []);
  const bad = make(badSignature(csr));
  assert.deepEqual(csrs.validate!(bad).map((e) => `${e.field}: ${e.detail}`), [`spec.request: Invalid value: "${bad.spec.request}": x509: ECDSA verification failure`]);
  assert.match(csrs.validate!(make('junk')).map((e) => e.detail).join(), /PEM block type must be CERTIFICATE REQUEST/);
  const errs = csrs.validate!(make(csr, { usages: ['client auth', 'client auth', 'flying'], signerName: 'nodomain', expirationSeconds: 60 })).map((e) => `${e.field}: ${e.detail}`);
  assert.deepEqual(errs, [
    'spec.usages[2]: Unsupported value: "flying": supported values: ' + errs[0]!.slice(errs[0]!.indexOf('"any"')),
    'spec.usages[1]: Duplicate value: "client auth"',
    'spec.signerName: Invalid value: "nodomain": must be a fully qualified domain and path of the form \'example.com/signer-name\'',
    'spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)',
  ]);
  assert.deepEqual(csrs.validate!(make(csr, { usages: [], signerName: '' })).map((e) => e.field), ['spec.usages', 'spec.signerName']);
});

test('conditions: Approved and Denied exclude each other; approval only via /approval, the certificate only via /status, once', async () => {
  const { csr } = await createCsr({ commonName: 'alice' });
  const stored = { ...make(csr), metadata: { name: 'c', uid: 'u' }, status: {} } as KubeObject;
  const both = csrs.update!.approval!.merge(stored, { metadata: {}, status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Denied', status: 'True' }] } } as KubeObject) as Obj;
  assert.match(csrs.validate!(both).map((e) => e.detail).join(), /Approved and Denied conditions are mutually exclusive/);
  const approved = csrs.update!.approval!.merge(stored, { metadata: {}, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }] } } as KubeObject) as Obj;
  assert.ok(approved.status.conditions[0].lastUpdateTime);
  assert.deepEqual(csrs.update!.approval!.validate(approved as KubeObject, stored), []);
  // A /status write keeps the stored approval and may set the certificate once.
  const viaStatus = structuredClone(approved) as Obj;
  viaStatus.status = { certificate: b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n') };
  csrs.prepareForStatusUpdate!(viaStatus as KubeObject, approved as KubeObject);
  assert.deepEqual(viaStatus.status.conditions.map((c: Obj) => c.type), ['Approved']);
  const again = { ...viaStatus, status: { ...viaStatus.status, certificate: b64('-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n') } };
  assert.match(csrs.validateStatus!(again as KubeObject, viaStatus as KubeObject).map((e) => e.detail).join(), /updates may not modify existing certificate content/);
  // The main resource changes neither.
  const main = { ...approved, status: { conditions: [] } };
  assert.match(csrs.validateUpdate!(main as KubeObject, approved as KubeObject).map((e) => e.detail).join(), /updates may not remove a condition of type "Approved"/);
});

test('kubectl columns: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION', () => {
  assert.deepEqual(csrs.printer!.columns.map((c) => c.name), ['Name', 'Age', 'SignerName', 'Requestor', 'RequestedDuration', 'Condition']);
  const o = { metadata: { name: 'c', creationTimestamp: new Date().toISOString() }, spec: { signerName: 's.io/x', username: 'bob', expirationSeconds: 3600 },
    status: { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'eA==' } };
  assert.deepEqual(csrs.printer!.cells(o).slice(2), ['s.io/x', 'bob', '60m', 'Approved,Issued']);
  assert.equal(csrCondition({ status: { conditions: [{ type: 'Denied', status: 'True' }, { type: 'Failed', status: 'True' }] } }), 'Denied,Failed');
  assert.equal(csrCondition({}), 'Pending');
});

test('malformed bodies get field errors, never an exception', () => {
  const junk: unknown[] = [null, 1, 'x', [], {}, [1, null], { a: 1 }, true];
  for (const request of junk) for (const usages of junk) for (const conditions of junk) {
    const o: Obj = { metadata: { name: 'c' }, spec: { request, usages, signerName: request, expirationSeconds: usages }, status: { conditions, certificate: request } };
    csrs.prepareForCreate!(structuredClone(o) as KubeObject, { username: 'u', groups: [] });
    assert.ok(Array.isArray(csrs.validate!(o)));
    assert.ok(Array.isArray(csrs.validateStatus!(o as KubeObject, o as KubeObject)));
    assert.ok(Array.isArray(csrs.update!.approval!.validate(csrs.update!.approval!.merge(o as KubeObject, o as KubeObject), o as KubeObject)));
  }
  for (const spec of junk) assert.ok(Array.isArray(csrs.validate!({ metadata: { name: 'c' }, spec, status: spec })));
});
