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
    // A copy: `encode` carves a transient slab (src/wire/slab.ts), which this would pin.
    this.identityBytes = encode(signerIdentity, this.identity).slice();
    this.sigAlg = signatureAlgorithmOf(credentials.privateKey);
  }

  get nodeId(): Uint8Array {
    return this.credentials.nodeId;
  }

  /** Signs raw bytes with SHA-256 and this node's key. */
  signBytes(data: Uint8Array): Uint8Array {
    return this.scheme.sign('sha256', data, this.credentials.privateKey);
  }

  /** Whether signatures are computed on the calling thread ({@link signBytesAsync} returns no promise). */
  get signsInline(): boolean {
    return this.scheme.signAsync === undefined;
  }

  /**
   * The same, off the event loop when the scheme can (RSA on libuv's thread pool): a node
   * keeps routing and serving its links while its signatures are computed.
   */
  signBytesAsync(data: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const s = this.scheme;
    return s.signAsync ? s.signAsync('sha256', data, this.credentials.privateKey) : this.signBytes(data);
  }

  /** The SecurityBlock for a message whose MessageContents are `contents`. */
  signMessage(overlay: number, transactionId: bigint, contents: Uint8Array, extraCertificates: Uint8Array[] = []): SecurityBlock {
    return this.securityBlock(this.signBytes(this.messageInput(overlay, transactionId, contents)), extraCertificates);
  }

  /** {@link signMessage} with the signature computed by {@link signBytesAsync}. */
  async signMessageAsync(overlay: number, transactionId: bigint, contents: Uint8Array, extraCertificates: Uint8Array[] = []): Promise<SecurityBlock> {
    return this.securityBlock(await this.signBytesAsync(this.messageInput(overlay, transactionId, contents)), extraCertificates);
  }

  /** The Signature of a StoredData value. */
  signStoredData(resourceId: Uint8Array, kind: number, storageTime: bigint, value: StoredDataValue): Signature {
    return this.signature(this.signBytes(this.storedDataInput(resourceId, kind, storageTime, value)));
  }

  /** {@link signStoredData} with the signature computed by {@link signBytesAsync}. */
  async signStoredDataAsync(resourceId: Uint8Array, kind: number, storageTime: bigint, value: StoredDataValue): Promise<Signature> {
    return this.signature(await this.signBytesAsync(this.storedDataInput(resourceId, kind, storageTime, value)));
  }

  /** The signature input of a message (RFC 6940 §6.3.4), in the shared scratch buffer. */
  private messageInput(overlay: number, transactionId: bigint, contents: Uint8Array): Uint8Array {
    return messageSignatureInput(overlay, transactionId, contents, this.identityBytes, signatureInputBuffer());
  }

  /** The signature input of a StoredData value (RFC 6940 §7.1), in the shared scratch buffer. */
  private storedDataInput(resourceId: Uint8Array, kind: number, storageTime: bigint, value: StoredDataValue): Uint8Array {
    return storedDataSignatureInput(resourceId, kind, storageTime, value, this.identity, signatureInputBuffer());
  }

  private securityBlock(value: Uint8Array, extraCertificates: Uint8Array[]): SecurityBlock {
    const certificates = [{ type: CertificateType.x509, certificate: this.credentials.certificate.der }];
    for (const c of extraCertificates) certificates.push({ type: CertificateType.x509, certificate: c });
    return { certificates, signature: this.signature(value) };
  }

  private signature(value: Uint8Array): Signature {
    return { hashAlg: HashAlgorithm.sha256, sigAlg: this.sigAlg, identity: this.identity, value };
  }
}
