// The EncryptionConfiguration `kubemu up` writes on a cluster's first start (read by the apiserver's
// --encryption-provider-config, apiserver/storage/encryption.ts).
import crypto from 'node:crypto';

/** A fresh configuration for `kubemu up`: Secrets under aescbc with one random 32-byte key, identity to read old data. */
export function newEncryptionConfigYaml(): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets]',
    '    providers:',
    '      - aescbc:',
    '          keys:',
    `            - name: key1`,
    `              secret: ${crypto.randomBytes(32).toString('base64')}`,
    '      - identity: {}',
    '',
  ].join('\n');
}
