// kube-apiserver's flags for reaching kubelets, read into ApiServerOptions.kubeletClient (http/kubelet-client.ts).
import fs from 'node:fs';
import type { Logger } from '../lib/logger.ts';
import type { KubeletClientConfig } from './http/kubelet-client.ts';

export const KUBELET_CLIENT_FLAGS = {
  'kubelet-client-certificate': { type: 'string' }, 'kubelet-client-key': { type: 'string' }, 'kubelet-certificate-authority': { type: 'string' },
} as const;

export const KUBELET_CLIENT_USAGE = '[--kubelet-client-certificate PEM --kubelet-client-key PEM [--kubelet-certificate-authority PEM]]';

type Values = { [K in keyof typeof KUBELET_CLIENT_FLAGS]?: string };

/** The PEM files read; undefined without --kubelet-client-certificate. Problems go to `errors`. */
export function kubeletClientFromFlags(values: Values, errors: string[], logger?: Logger): KubeletClientConfig | undefined {
  const certFile = values['kubelet-client-certificate'];
  const keyFile = values['kubelet-client-key'];
  const caFile = values['kubelet-certificate-authority'];
  if (!certFile && !keyFile) {
    if (caFile) errors.push('--kubelet-certificate-authority needs --kubelet-client-certificate and --kubelet-client-key');
    return undefined;
  }
  if (!certFile || !keyFile) { errors.push('--kubelet-client-certificate and --kubelet-client-key go together'); return undefined; }
  const read = (flag: string, file: string) => {
    try { return fs.readFileSync(file, 'utf8'); } catch (err) { errors.push(`--${flag}: ${(err as Error).message}`); return ''; }
  };
  const cfg = { cert: read('kubelet-client-certificate', certFile), key: read('kubelet-client-key', keyFile), ca: caFile ? read('kubelet-certificate-authority', caFile) : undefined };
  if (!caFile) logger?.warn('no --kubelet-certificate-authority: kubelets\' serving certificates are not verified (as kube-apiserver without it)');
  return cfg;
}
