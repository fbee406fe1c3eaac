/**
 * Checking a peer's certificate the way every (D)TLS link must (RFC 6940 §11.3 / §13.4;
 * behaviour digest §4.2, §10): it chains to a configured root-cert whose basicConstraints
 * say CA, both are inside their validity period, it carries at least one Node-ID as a
 * RELOAD URI naming this overlay, none of its Node-IDs is a bad-node, and, where the
 * configuration permits self-signed certificates, a self-signed one passes instead when
 * its Node-IDs are bound to its key. The overlay CA issues end-entity certificates
 * directly, so the chain is one link (leaf → root).
 */
import { X509Certificate } from 'node:crypto';
import { type CertificateIdentity, CertificateError, parseCertificate } from './identity.js';
import { selfSignedNodeIdsBound } from '../src/security/trust.js';
import { bytesEqual, toHex } from '../src/wire/codec.js';
import type { Clock } from '../src/common/clock.js';
import type { OverlayConfiguration } from '../src/config/types.js';

export interface PeerCertificateExpectations {
  /** The overlay name: every Node-ID URI must name it (case-insensitive). Required. */
  overlay: string;
  /** NodeIdLength of the overlay; every Node-ID must have it (default 16). */
  nodeIdLength?: number;
  /** Node-IDs whose certificates are invalid (configuration bad-node). */
  badNodes?: readonly Uint8Array[];
  /** Set when the configuration permits self-signed certificates. */
  selfSigned?: { digest: 'sha1' | 'sha256' } | undefined;
  /** When set, the certificate must carry this Node-ID. */
  nodeId?: Uint8Array;
  /** When set, the certificate's user name must be this one. */
  userName?: string;
}

/**
 * Verifies a peer certificate (DER) against the trust anchors (DER roots) at time `now`
 * (ms since the epoch). Returns the parsed identity, or throws CertificateError whose
 * `reason` names the problem.
 */
export function verifyPeerCertificate(
  der: Uint8Array,
  rootDers: readonly Uint8Array[],
  now: number,
  expect: PeerCertificateExpectations,
): CertificateIdentity {
  return checkPeer(parseCertificate(der), parseRoots(rootDers), now, expect);
}

/**
 * A reusable checker for one configuration (roots parsed once), for the TLS transport's
 * verifyPeer hook: trust anchors, overlay name, NodeIdLength, bad-node list and the
 * self-signed rule all come from the configuration; time from the clock.
 */
export function peerCertificateVerifier(config: OverlayConfiguration, clock: Clock): (der: Uint8Array) => CertificateIdentity {
  const roots = parseRoots(config.rootCerts);
  const expect = expectationsOf(config);
  return (der) => checkPeer(parseCertificate(der), roots, clock.now(), expect);
}

/** What a configuration requires of every certificate in its overlay. */
export function expectationsOf(config: OverlayConfiguration): PeerCertificateExpectations {
  return {
    overlay: config.instanceName,
    nodeIdLength: config.nodeIdLength,
    badNodes: config.badNodes,
    selfSigned: config.selfSignedPermitted && config.selfSignedDigest ? { digest: config.selfSignedDigest } : undefined,
  };
}

function parseRoots(rootDers: readonly Uint8Array[]): X509Certificate[] {
  return rootDers.map((d) => {
    try {
      return new X509Certificate(d);
    } catch (err) {
      throw new CertificateError('a trust anchor is not a DER X.509 certificate', { cause: err });
    }
  });
}

function checkPeer(c: CertificateIdentity, roots: readonly X509Certificate[], now: number, expect: PeerCertificateExpectations): CertificateIdentity {
  if (now < c.notBefore) throw new CertificateError(`certificate is not valid before ${new Date(c.notBefore).toISOString()}`, { reason: 'not_yet_valid' });
  if (now > c.notAfter) throw new CertificateError(`certificate expired at ${new Date(c.notAfter).toISOString()}`, { reason: 'expired' });
  if (c.x509.ca) throw new CertificateError('a CA certificate cannot be a node certificate', { reason: 'invalid' });
  if (c.nodeIds.length === 0) throw new CertificateError('certificate carries no Node-ID (reload:// URI in subjectAltName)', { reason: 'no_node_id' });
  if (c.overlay !== expect.overlay.toLowerCase()) {
    throw new CertificateError(`certificate is for overlay ${c.overlay}, not ${expect.overlay}`, { reason: 'wrong_overlay' });
  }
  const length = expect.nodeIdLength ?? 16;
  for (const id of c.nodeIds) {
    if (id.length !== length) throw new CertificateError(`Node-ID ${toHex(id)} is not ${length} bytes long`, { reason: 'invalid' });
    if (expect.badNodes?.some((b) => bytesEqual(b, id))) throw new CertificateError(`Node-ID ${toHex(id)} is a bad-node`, { reason: 'bad_node' });
  }
  if (expect.nodeId && !c.nodeIds.some((id) => bytesEqual(id, expect.nodeId!))) {
    throw new CertificateError(`certificate does not carry Node-ID ${toHex(expect.nodeId)}`, { reason: 'identity_mismatch' });
  }
  if (expect.userName !== undefined && c.userName !== expect.userName) {
    throw new CertificateError(`certificate is for user ${c.userName ?? '(none)'}, not ${expect.userName}`, { reason: 'identity_mismatch' });
  }
  let rootProblem: string | undefined;
  for (const root of roots) {
    if (!c.x509.checkIssued(root) || !c.x509.verify(root.publicKey)) continue;
    // RFC 6940 §11.3: the client checks the chain "including basicConstraints".
    if (!root.ca) {
      rootProblem = 'the issuing root-cert is not a CA (basicConstraints)';
      continue;
    }
    if (now < Date.parse(root.validFrom) || now > Date.parse(root.validTo)) {
      rootProblem = 'the issuing root-cert is outside its validity period';
      continue;
    }
    return c;
  }
  if (expect.selfSigned && c.x509.checkIssued(c.x509) && c.x509.verify(c.publicKey)) {
    if (selfSignedNodeIdsBound(c, expect.selfSigned.digest, length)) return c;
    throw new CertificateError('self-signed certificate: Node-ID is not bound to its public key', { reason: 'node_id_binding' });
  }
  throw new CertificateError(`certificate does not chain to a trusted root${rootProblem ? `: ${rootProblem}` : ''}`, { reason: 'untrusted' });
}
