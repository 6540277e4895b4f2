import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCA, createCsr, inspectCertificate, issueCertificate, issueExpiredCertificate, parseCsr, signCsr } from './pki.ts';

test('a CA issues client and server certificates that node:tls verifies both ways, CN = user, O = groups', async () => {
  const ca = await createCA();
  const server = await issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
  const client = await issueCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
  assert.deepEqual(inspectCertificate(server.cert).dnsNames, ['localhost', 'kubernetes.default.svc']);
  assert.equal(inspectCertificate(ca.cert).isCA, true);
  const srv = tls.createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => {
    const peer = s.getPeerCertificate();
    s.end(`${peer.subject.CN}/${peer.subject.O}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as AddressInfo).port;
    const reply = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ port, host: '127.0.0.1', ca: ca.cert, cert: client.cert, key: client.key }, () => assert.equal(c.authorized, true));
      let got = '';
      c.on('data', (d) => { got += d; }).on('end', () => resolve(got)).on('error', reject);
    });
    assert.equal(reply, 'kubernetes-admin/system:masters');
  } finally { srv.close(); }
});

test('signedBy tells this CA from another; an expired certificate is past its notAfter', async () => {
  const ca = await createCA();
  const other = await createCA();
  const cert = await issueCertificate(ca, { commonName: 'u', usage: 'client' });
  assert.equal(await inspectCertificate(cert.cert).signedBy(ca.cert), true);
  assert.equal(await inspectCertificate(cert.cert).signedBy(other.cert), false);
  const expired = await issueExpiredCertificate(ca, { commonName: 'u', usage: 'client' });
  assert.ok(inspectCertificate(expired.cert).notAfter.getTime() < Date.now());
});

test('a CSR is parsed with its names, its signature checked, and signed with the CA', async () => {
  const ca = await createCA();
  const { csr } = await createCsr({ commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1'], ipAddresses: ['10.0.0.5'] });
  const parsed = await parseCsr(csr);
  assert.equal(parsed.commonName, 'system:node:n1');
  assert.deepEqual(parsed.organizations, ['system:nodes']);
  assert.deepEqual([parsed.dnsNames, parsed.ipAddresses], [['n1'], ['10.0.0.5']]);
  assert.equal(parsed.signatureValid, true);
  const info = inspectCertificate(await signCsr(ca, parsed, 'server', 3600));
  assert.equal(info.commonName, 'system:node:n1');
  assert.ok(info.notAfter.getTime() - Date.now() <= 3600_000);
  // One flipped byte in the signature: the request no longer verifies.
  const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] ^= 0xff;
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal((await parseCsr(bad)).signatureValid, false);
  await assert.rejects(parseCsr('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /CERTIFICATE REQUEST/);
});

test('names that would change an X.500 name are refused', async () => {
  const ca = await createCA();
  await assert.rejects(issueCertificate(ca, { commonName: 'a,O=system:masters', usage: 'client' }), /certificate name/);
});
