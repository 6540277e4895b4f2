// What the launcher and the Cluster library use of the kubelet, and nothing else outside kubelet/ may:
// the Docker Engine API client, the labels its Docker runtime puts on every container and volume, and
// the removal of a node's memory-backed volumes (`kubemu down` takes pods' leftovers along), and the TLS bootstrap
// `kubemu join` runs before the kubelet starts (a bootstrap token → the node's own client certificate).
export { DockerEngine } from './cri/docker/engine.ts';
export { removeVolumes } from './cri/docker/runtime.ts';
export { LABELS } from './cri/types.ts';
export { bootstrapClientCertificate, bootstrapServingCertificate, renew as renewClientCertificate, readCurrent as readClientCertificate, CURRENT_FILE as CLIENT_CERT_FILE, SERVING_FILE as SERVING_CERT_FILE } from './tls-bootstrap.ts';
