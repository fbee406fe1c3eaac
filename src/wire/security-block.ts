/**
 * SecurityBlock, GenericCertificate, Signature and SignerIdentity (RFC 6940 §6.3.4).
 * Pure codecs: computing or checking signatures lives in src/security/.
 */
import { type Codec, DecodeError, EncodeError, opaqueSize, vectorOf } from './codec.js';
import { SignerIdentityType } from './constants.js';

export interface GenericCertificate {
  /** CertificateType (RFC 6091): 0 = X.509 (DER). */
  type: number;
  certificate: Uint8Array;
}

export type SignerIdentity =
  /** The certificate carries one Node-ID: hash = H(DER certificate). */
  | { type: 'cert_hash'; hashAlg: number; hash: Uint8Array }
  /** Several Node-IDs: hash = H(NodeId || DER certificate). */
  | { type: 'cert_hash_node_id'; hashAlg: number; hash: Uint8Array }
  /** Only on values a storing peer synthesizes in Fetch answers. */
  | { type: 'none' }
  /** A type this node does not know; its value is kept so it re-encodes unchanged. */
  | { type: 'unknown'; code: number; value: Uint8Array };

export interface Signature {
  /** SignatureAndHashAlgorithm: hash byte first (sha256 = 4), then signature (rsa = 1). */
  hashAlg: number;
  sigAlg: number;
  identity: SignerIdentity;
  value: Uint8Array;
}

export interface SecurityBlock {
  certificates: GenericCertificate[];
  signature: Signature;
}

const SC = 'GenericCertificate';
export const genericCertificate: Codec<GenericCertificate> = {
  name: SC,
  size: (c) => 1 + opaqueSize(2, c.certificate, SC, 'certificate'),
  encode(w, c) {
    w.u8(c.type);
    w.opaque(2, c.certificate);
  },
  decode(r) {
    return { type: r.u8(SC, 'type'), certificate: r.opaque(2, SC, 'certificate') };
  },
};

const SI = 'SignerIdentity';

function identityValueSize(id: SignerIdentity): number {
  switch (id.type) {
    case 'cert_hash':
    case 'cert_hash_node_id':
      return 1 + opaqueSize(1, id.hash, SI, 'certificate_hash');
    case 'none':
      return 0;
    case 'unknown':
      return id.value.length;
  }
}

export const signerIdentity: Codec<SignerIdentity> = {
  name: SI,
  size: (id) => 3 + identityValueSize(id),
  encode(w, id) {
    const n = identityValueSize(id);
    if (n > 0xffff) throw new EncodeError(SI, 'length', 'identity exceeds 65535 bytes');
    switch (id.type) {
      case 'cert_hash':
      case 'cert_hash_node_id':
        w.u8(id.type === 'cert_hash' ? SignerIdentityType.certHash : SignerIdentityType.certHashNodeId);
        w.u16(n);
        w.u8(id.hashAlg);
        w.opaque(1, id.hash);
        return;
      case 'none':
        w.u8(SignerIdentityType.none);
        w.u16(0);
        return;
      case 'unknown':
        w.u8(id.code);
        w.u16(n);
        w.bytes(id.value);
        return;
    }
  },
  decode(r) {
    const at = r.pos;
    const code = r.u8(SI, 'identity_type');
    if (code === SignerIdentityType.invalid) {
      throw new DecodeError(SI, 'identity_type', 'value', at, 'invalidSignerIdentityType (0)');
    }
    const body = r.sub(r.u16(SI, 'length'), SI, 'identity');
    switch (code) {
      case SignerIdentityType.certHash:
      case SignerIdentityType.certHashNodeId: {
        const hashAlg = body.u8(SI, 'hash_alg');
        const hash = body.opaque(1, SI, 'certificate_hash');
        body.done(SI);
        return { type: code === SignerIdentityType.certHash ? 'cert_hash' : 'cert_hash_node_id', hashAlg, hash };
      }
      case SignerIdentityType.none:
        body.done(SI);
        return { type: 'none' };
      default:
        // The explicit length makes the type extensible: keep the value opaque.
        return { type: 'unknown', code, value: body.bytes(body.left, SI, 'identity') };
    }
  },
};

const SG = 'Signature';
export const signature: Codec<Signature> = {
  name: SG,
  size: (s) => 2 + signerIdentity.size(s.identity) + opaqueSize(2, s.value, SG, 'signature_value'),
  encode(w, s) {
    w.u8(s.hashAlg);
    w.u8(s.sigAlg);
    signerIdentity.encode(w, s.identity);
    w.opaque(2, s.value);
  },
  decode(r) {
    const hashAlg = r.u8(SG, 'algorithm.hash');
    const sigAlg = r.u8(SG, 'algorithm.signature');
    const identity = signerIdentity.decode(r);
    const value = r.opaque(2, SG, 'signature_value');
    return { hashAlg, sigAlg, identity, value };
  },
};

const certificateList = vectorOf('SecurityBlock.certificates', 2, genericCertificate);

const SB = 'SecurityBlock';
export const securityBlock: Codec<SecurityBlock> = {
  name: SB,
  size: (b) => certificateList.size(b.certificates) + signature.size(b.signature),
  encode(w, b) {
    certificateList.encode(w, b.certificates);
    signature.encode(w, b.signature);
  },
  decode(r) {
    const certificates = certificateList.decode(r);
    return { certificates, signature: signature.decode(r) };
  },
};

/**
 * The Signature of values a storing peer synthesizes (RFC 6940 §7.4.2.2): algorithm
 * {0,0}, identity none, empty signature_value.
 */
export const UNSIGNED: Signature = Object.freeze({
  hashAlg: 0,
  sigAlg: 0,
  identity: Object.freeze({ type: 'none' }) as SignerIdentity,
  value: new Uint8Array(0),
}) as Signature;
