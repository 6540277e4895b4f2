// The CSR controllers' pure parts: the kubelet signers' rules and messages, the signing duration, the cleaner's
// deadlines, and the kubelet's jittered rotation deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createCsr, parseCsr } from '../../lib/pki.ts';
import { rotationDeadline } from '../../kubelet/tls-bootstrap.ts';
import { csrDeadline } from './csr-cleaner.ts';
import { signingDuration } from './csr-signing.ts';
import { SIGNERS, signerRuleError } from './csr-util.ts';

const parsed = async (o: Parameters<typeof createCsr>[0]) => parseCsr((await createCsr(o)).csr);

test('the kubelet signers\' rules, with Kubernetes\' messages', async () => {
  const node = await parsed({ commonName: 'system:node:n1', organizations: ['system:nodes'] });
  assert.equal(signerRuleError(SIGNERS.kubeletClient, node, ['digital signature', 'client auth']), undefined);
  assert.equal(signerRuleError(SIGNERS.kubeletClient, node, ['digital signature', 'key encipherment', 'client auth']), undefined);
  assert.equal(signerRuleError(SIGNERS.kubeletClient, node, ['server auth']), 'usages did not match [client auth digital signature key encipherment]');
  assert.equal(signerRuleError(SIGNERS.kubeletClient, await parsed({ commonName: 'system:node:n1' }), ['client auth']), 'subject organization is not system:nodes');
  assert.equal(signerRuleError(SIGNERS.kubeletClient, await parsed({ commonName: 'bob', organizations: ['system:nodes'] }), ['digital signature', 'client auth']), 'subject common name does not begin with system:node:');
  const withSan = await parsed({ commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1'] });
  assert.equal(signerRuleError(SIGNERS.kubeletClient, withSan, ['digital signature', 'client auth']), 'DNS subjectAltNames are not allowed');
  assert.equal(signerRuleError(SIGNERS.kubeletServing, withSan, ['digital signature', 'server auth']), undefined);
  assert.equal(signerRuleError(SIGNERS.kubeletServing, node, ['digital signature', 'server auth']), 'DNS or IP subjectAltName is required');
  assert.equal(signerRuleError(SIGNERS.apiserverClient, node, ['client auth', 'server auth']), 'invalid usage for client certificate: server auth');
  assert.equal(signerRuleError(SIGNERS.apiserverClient, node, ['digital signature']), 'missing required usage for client certificate: client auth');
});

test('signing duration: the signer\'s limit, a shorter expirationSeconds, never under 10 minutes', () => {
  assert.equal(signingDuration(86400, undefined), 86400);
  assert.equal(signingDuration(86400, 3600), 3600);
  assert.equal(signingDuration(86400, 10 * 86400), 86400);
  assert.equal(signingDuration(86400, 60), 600);
});

test('csrcleaner deadlines: pending 24h, denied/failed 1h after the condition, issued 1h after approval', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const csr = (status: Record<string, unknown>) => ({ metadata: { name: 'c', creationTimestamp: '2026-01-01T00:00:00Z' }, status }) as unknown as KubeObject;
  assert.equal(csrDeadline(csr({})), t0 + 24 * 3_600_000);
  assert.equal(csrDeadline(csr({ conditions: [{ type: 'Denied', status: 'True', lastUpdateTime: '2026-01-01T01:00:00Z' }] })), t0 + 2 * 3_600_000);
  assert.equal(csrDeadline(csr({ conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: '2026-01-01T00:00:00Z' }] })), Infinity);
  assert.equal(csrDeadline(csr({ conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: '2026-01-01T00:00:00Z' }], certificate: 'eA==' })), t0 + 3_600_000);
});

test('the kubelet renews between 70% and 90% of the validity', () => {
  const from = new Date('2026-01-01T00:00:00Z'), to = new Date('2026-01-11T00:00:00Z');
  assert.equal(rotationDeadline(from, to, 0).toISOString(), '2026-01-08T00:00:00.000Z');
  assert.equal(rotationDeadline(from, to, 1).toISOString(), '2026-01-10T00:00:00.000Z');
});
