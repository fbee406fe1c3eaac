/**
 * Signing with the node's own credentials: message signatures (RFC 6940 §6.3.4) and
 * stored-data signatures (§7.1). node:crypto only (node-forge is ~100x slower).
 */
import { createHash } from 'node:crypto';
import { CertificateType, HashAlgorithm } from '../wire/constants.js';
import { messageSignatureInput } from '../wire/message.js';
import { type SecurityBlock, type Signature, type SignerIdentity, signerIdentity } from '../wire/security-block.js';
import { type StoredDataValue, storedDataSignatureInput } from '../wire/storage.js';
import { encode } from '../wire/codec.js';
import type { Credentials } from './credentials.js';
import { signatureAlgorithmOf, signatureInputBuffer } from './algorithms.js';
import { NODE_CRYPTO_SIGNATURES, type SignatureScheme } from './signature-scheme.js';

export class Signer {
  /** This node's SignerIdentity. */
  readonly identity: SignerIdentity;
  private readonly identityBytes: Uint8Array;
  private readonly sigAlg: number;

  constructor(
    readonly credentials: Credentials,
    /** How signature values are made (node:crypto; the simulator's cheap mode replaces it). */
    readonly scheme: SignatureScheme = NODE_CRYPTO_SIGNATURES,
  ) {
    const cert = credentials.certificate;
    if (cert.nodeIds.length === 1) {
      // cert_hash: H(DER certificate) (RFC 6940 §6.3.4).
      this.identity = { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, hash: cert.sha256 };
    } else {
      // cert_hash_node_id: H(NodeId || DER certificate).
      const h = createHash('sha256').update(credentials.nodeId).update(cert.der).digest();
      this.identity = { type: 'cert_hash_node_id', hashAlg: HashAlgorithm.sha256, hash: new Uint8Array(h) };
    }
    this.identityBytes = encode(signerIdentity, this.identity);
    this.sigAlg = signatureAlgorithmOf(credentials.privateKey);
  }

  get nodeId(): Uint8Array {
    return this.credentials.nodeId;
  }

  /** Signs raw bytes with SHA-256 and this node's key. */
  signBytes(data: Uint8Array): Uint8Array {
    return this.scheme.sign('sha256', data, this.credentials.privateKey);
  }

  /** The SecurityBlock for a message whose MessageContents are `contents`. */
  signMessage(overlay: number, transactionId: bigint, contents: Uint8Array, extraCertificates: Uint8Array[] = []): SecurityBlock {
    const input = messageSignatureInput(overlay, transactionId, contents, this.identityBytes, signatureInputBuffer());
    const certificates = [{ type: CertificateType.x509, certificate: this.credentials.certificate.der }];
    for (const c of extraCertificates) certificates.push({ type: CertificateType.x509, certificate: c });
    return {
      certificates,
      signature: { hashAlg: HashAlgorithm.sha256, sigAlg: this.sigAlg, identity: this.identity, value: this.signBytes(input) },
    };
  }

  /** The Signature of a StoredData value. */
  signStoredData(resourceId: Uint8Array, kind: number, storageTime: bigint, value: StoredDataValue): Signature {
    const input = storedDataSignatureInput(resourceId, kind, storageTime, value, this.identity, signatureInputBuffer());
    return { hashAlg: HashAlgorithm.sha256, sigAlg: this.sigAlg, identity: this.identity, value: this.signBytes(input) };
  }
}
