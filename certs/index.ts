/**
 * Identity and enrollment (RFC 6940 §11.3, §13.4): the overlay CA, CSRs, certificate
 * checks, Node-ID assignment, the enrollment server and client, and the operator's tools.
 * What other parts of the node use:
 *
 *  - `loadIdentity(dir)` — the identity saved by `reload-node enroll` (start --identity);
 *  - `verifyPeerCertificate(der, roots, now, expect)` / `peerCertificateVerifier(config, clock)`
 *    — the check every TLS link makes on the peer's certificate;
 *  - `NodeIdStrategy` — where a topology-aware Node-ID scheme plugs into enrollment.
 */
export * from './ca.js';
export * from './csr.js';
export * from './enrollment-client.js';
export * from './enrollment-server.js';
export * from './files.js';
export * from './identity.js';
export * from './multipart.js';
export * from './node-id-strategy.js';
export * from './overlay-admin.js';
export * from './rate-limit.js';
export * from './users.js';
export * from './verify.js';
