// TLS verification failures in the words of Go's crypto/x509 and crypto/tls, which are what Kubernetes' components
// say (and what people search for): node:tls reports OpenSSL's codes instead.

/** OpenSSL's verify codes in the words of Go's crypto/x509, which is what Kubernetes' logs say. */
export function x509Reason(code: string, validTo?: string): string {
  const at = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
  switch (code) {
    case 'CERT_HAS_EXPIRED': return `x509: certificate has expired or is not yet valid: current time ${at(new Date())} is after ${validTo ? at(new Date(validTo)) : 'its NotAfter'}`;
    case 'CERT_NOT_YET_VALID': return 'x509: certificate has expired or is not yet valid';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'UNABLE_TO_GET_ISSUER_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'CERT_SIGNATURE_FAILURE':
      return 'x509: certificate signed by unknown authority';
    case 'INVALID_PURPOSE': return 'x509: certificate specifies an incompatible key usage';
    default: return `x509: ${code}`;
  }
}
