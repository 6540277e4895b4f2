// An image reference split as Docker's reference grammar does: the tag is what follows the last ':' of the last
// path component (so the port of `127.0.0.1:5000/app` is not a tag), and a digest (`@sha256:…`) is kept whole.
export function splitImageRef(image: string): { repository: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1) };
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > lastSlash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}

/** An image reference whose registry is this machine (localhost[:port] or 127.x.x.x[:port]). */
export function isLocalRegistry(image: string): boolean {
  const first = image.split('/')[0];
  if (!image.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) return false; // Docker Hub
  const host = first.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
