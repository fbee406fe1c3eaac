/**
 * Which certificates this overlay trusts (RFC 6940 §13, behaviour digest §4): certificates
 * chained to a configured root-cert, or, where the configuration permits it, self-signed
 * certificates whose Node-IDs are bound to their public key. Node-IDs listed as bad-node
 * are refused. Each certificate is parsed and chain-checked once, then cached.
 */
import { X509Certificate, createHash, hash as oneShotHash } from 'node:crypto';
import { type CertificateIdentity, CertificateError, parseCertificate } from '../../certs/identity.js';
import { bytesEqual, toHex } from '../wire/codec.js';
import type { Clock } from '../common/clock.js';
import type { SignatureScheme } from './signature-scheme.js';

export interface TrustPolicy {
  /** Overlay name: Node-ID URIs must name this overlay. */
  overlay: string;
  /** Trust anchors (configuration root-cert, DER). */
  rootCerts: readonly Uint8Array[];
  /** Set when self-signed-permitted is true: the Node-ID digest. */
  selfSigned?: { digest: 'sha1' | 'sha256' } | undefined;
  /** Hex Node-IDs whose certificates are invalid (configuration bad-node). */
  badNodes?: ReadonlySet<string>;
  nodeIdLength: number;
  /**
   * How message and stored-data signatures are checked (default node:crypto). Only the
   * simulator's explicitly reported cheap mode sets another scheme.
   */
  signatures?: SignatureScheme | undefined;
}

/**
 * Node-ID j (1-based) of a self-signed certificate: the high-order NodeIdLength bytes of
 * digest(DER SubjectPublicKeyInfo) for a single Node-ID, or digest(uint32(j) || SPKI)
 * when the certificate carries several (RFC 6940 §13.4).
 */
export function selfSignedNodeId(spkiDer: Uint8Array, digest: 'sha1' | 'sha256', length: number, j?: number): Uint8Array {
  const h = createHash(digest);
  if (j !== undefined) {
    const n = Buffer.alloc(4);
    n.writeUInt32BE(j);
    h.update(n);
  }
  return new Uint8Array(h.update(spkiDer).digest()).subarray(0, length);
}

/**
 * Whether every Node-ID of a self-signed certificate is the one its public key yields
 * (RFC 6940 §13.4): Node-ID 1..k in certificate order.
 */
export function selfSignedNodeIdsBound(c: CertificateIdentity, digest: 'sha1' | 'sha256', length: number): boolean {
  if (c.nodeIds.length === 0) return false;
  const spki = new Uint8Array(c.publicKey.export({ type: 'spki', format: 'der' }));
  return c.nodeIds.length === 1
    ? bytesEqual(c.nodeIds[0]!, selfSignedNodeId(spki, digest, length))
    : c.nodeIds.every((id, i) => bytesEqual(id, selfSignedNodeId(spki, digest, length, i + 1)));
}

interface CacheEntry {
  /** The DER bytes evaluated (the entry is keyed by their SHA-256). */
  der: Uint8Array;
  identity: CertificateIdentity;
  error: CertificateError | undefined;
}

export class CertificateStore {
  private readonly roots: X509Certificate[];
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    readonly policy: TrustPolicy,
    private readonly clock: Clock,
    private readonly maxEntries = 20_000,
  ) {
    this.roots = policy.rootCerts.map((d) => new X509Certificate(d));
  }

  /**
   * Parses and checks a certificate (cached by content). Throws CertificateError when it
   * is malformed, untrusted, outside its validity period, or names a bad node.
   */
  check(der: Uint8Array): CertificateIdentity {
    const key = cacheKey(der);
    return this.valid(this.cache.get(key) ?? this.add(key, der));
  }

  /**
   * The certificate of a cert_hash SignerIdentity with SHA-256 (RFC 6940 §6.3.4), checked as
   * {@link check} does: undefined when `der` does not hash to `sha256` (another certificate of
   * the message). The cache is keyed by each certificate's true SHA-256 (every entry is
   * added under the hash of its own bytes), so a certificate seen before is recognised by
   * comparing bytes, and other bytes under a known hash are another certificate — deciding
   * that by hashing them would need a SHA-256 collision to come out otherwise. Only a hash
   * never seen costs a hash computation.
   */
  checkCertHash(der: Uint8Array, sha256: Uint8Array): CertificateIdentity | undefined {
    if (sha256.length !== 32) return undefined;
    const key = hashKey(sha256);
    const e = this.cache.get(key);
    if (e) return bytesEqual(e.der, der) ? this.valid(e) : undefined;
    if (!bytesEqual(oneShotHash('sha256', der, 'buffer'), sha256)) return undefined;
    return this.valid(this.add(key, der));
  }

  private add(key: string, der: Uint8Array): CacheEntry {
    const e = this.evaluate(der);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, e);
    return e;
  }

  private valid(e: CacheEntry): CertificateIdentity {
    if (e.error) throw e.error;
    const now = this.clock.now();
    if (now < e.identity.notBefore) throw new CertificateError('certificate is not yet valid');
    if (now > e.identity.notAfter) throw new CertificateError('certificate has expired');
    return e.identity;
  }

  private evaluate(der: Uint8Array): CacheEntry {
    let identity: CertificateIdentity;
    try {
      identity = parseCertificate(der);
    } catch (err) {
      const error = err instanceof CertificateError ? err : new CertificateError(String(err));
      // A copy: `der` is usually a view into a received message.
      return { der: new Uint8Array(der), identity: undefined as unknown as CertificateIdentity, error };
    }
    return { der: identity.der, identity, error: this.trustError(identity) };
  }

  private trustError(c: CertificateIdentity): CertificateError | undefined {
    if (c.nodeIds.length === 0) return new CertificateError('certificate carries no Node-ID');
    if (c.overlay !== this.policy.overlay.toLowerCase()) {
      return new CertificateError(`certificate is for overlay ${c.overlay}, not ${this.policy.overlay}`);
    }
    for (const id of c.nodeIds) {
      if (id.length !== this.policy.nodeIdLength) return new CertificateError('certificate Node-ID has the wrong length');
      if (this.policy.badNodes?.has(toHex(id))) return new CertificateError(`Node-ID ${toHex(id)} is a bad-node`);
    }
    for (const root of this.roots) {
      if (c.x509.checkIssued(root) && c.x509.verify(root.publicKey)) return undefined;
    }
    if (this.policy.selfSigned && c.x509.checkIssued(c.x509) && c.x509.verify(c.publicKey)) {
      if (selfSignedNodeIdsBound(c, this.policy.selfSigned.digest, this.policy.nodeIdLength)) return undefined;
      return new CertificateError('self-signed certificate: Node-ID is not bound to its public key');
    }
    return new CertificateError('certificate does not chain to a trusted root');
  }
}

function hashKey(sha256: Uint8Array): string {
  return Buffer.from(sha256.buffer, sha256.byteOffset, sha256.length).toString('base64');
}

function cacheKey(der: Uint8Array): string {
  return oneShotHash('sha256', der, 'base64');
}
