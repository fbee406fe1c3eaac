/**
 * Verifying signatures at the final destination (RFC 6940 §6.3.4, §7.1): find the signer's
 * certificate from its SignerIdentity among the SecurityBlock's certificates, check the
 * certificate with the trust policy, then check the signature.
 */
import type { CertificateIdentity } from '../../certs/identity.js';
import { ReloadError } from '../common/errors.js';
import { bytesEqual } from '../wire/codec.js';
import { messageSignatureInput, type DecodedMessage } from '../wire/message.js';
import type { GenericCertificate, Signature, SignerIdentity } from '../wire/security-block.js';
import { type StoredData, storedDataSignatureInput } from '../wire/storage.js';
import { CertificateType, ErrorCode, HashAlgorithm, SignatureAlgorithm } from '../wire/constants.js';
import { digest, hashName, signatureInputBuffer } from './algorithms.js';
import { NODE_CRYPTO_SIGNATURES, type SignatureScheme } from './signature-scheme.js';
import type { CertificateStore } from './trust.js';

/** Who signed: the certificate and the Node-ID the SignerIdentity designates. */
export interface SignerInfo {
  certificate: CertificateIdentity;
  nodeId: Uint8Array;
}

/**
 * Resolves a SignerIdentity against certificates (RFC 6940 §6.3.4): cert_hash matches
 * H(DER); cert_hash_node_id matches H(NodeId || DER) for one of the certificate's Node-IDs.
 * `extra` are certificates known from elsewhere (e.g. stored with the data).
 */
export function findSigner(
  identity: SignerIdentity,
  certificates: readonly GenericCertificate[],
  store: CertificateStore,
): SignerInfo {
  if (identity.type !== 'cert_hash' && identity.type !== 'cert_hash_node_id') {
    throw ReloadError.forbidden(`signer identity type ${identity.type} cannot sign`);
  }
  if (!hashName(identity.hashAlg)) throw ReloadError.forbidden(`unsupported identity hash ${identity.hashAlg}`);
  for (const c of certificates) {
    if (c.type !== CertificateType.x509) continue;
    if (identity.type === 'cert_hash') {
      let cert: CertificateIdentity | undefined;
      if (identity.hashAlg === HashAlgorithm.sha256) {
        // The usual case: the store recognises a certificate it checked before by its bytes.
        cert = checkedCertHash(store, c.certificate, identity.hash);
        if (!cert) continue;
      } else {
        if (!bytesEqual(digest(identity.hashAlg, c.certificate)!, identity.hash)) continue;
        cert = checked(store, c.certificate);
      }
      if (cert.nodeIds.length !== 1) {
        throw ReloadError.forbidden('cert_hash identity used with a certificate holding several Node-IDs');
      }
      return { certificate: cert, nodeId: cert.nodeIds[0]! };
    }
    const cert = tryChecked(store, c.certificate);
    if (!cert) continue;
    for (const id of cert.nodeIds) {
      if (bytesEqual(digest(identity.hashAlg, id, c.certificate)!, identity.hash)) return { certificate: cert, nodeId: id };
    }
  }
  throw ReloadError.forbidden('no certificate in the message matches the signer identity');
}

function checked(store: CertificateStore, der: Uint8Array): CertificateIdentity {
  try {
    return store.check(der);
  } catch (err) {
    throw refused(err);
  }
}

function checkedCertHash(store: CertificateStore, der: Uint8Array, sha256: Uint8Array): CertificateIdentity | undefined {
  try {
    return store.checkCertHash(der, sha256);
  } catch (err) {
    throw refused(err);
  }
}

function refused(err: unknown): ReloadError {
  return new ReloadError(ErrorCode.forbidden, `signer certificate refused: ${(err as Error).message}`, undefined, { cause: err });
}

function tryChecked(store: CertificateStore, der: Uint8Array): CertificateIdentity | undefined {
  try {
    return store.check(der);
  } catch {
    return undefined;
  }
}

/** Whether `sig` is a valid signature of `input` by the certificate's key (algorithm matched to the key). */
export function checkSignature(
  sig: Signature,
  cert: CertificateIdentity,
  input: Uint8Array,
  scheme: SignatureScheme = NODE_CRYPTO_SIGNATURES,
): boolean {
  const hash = hashName(sig.hashAlg);
  if (!hash) return false;
  const keyType = cert.publicKey.asymmetricKeyType;
  if (sig.sigAlg === SignatureAlgorithm.rsa && keyType !== 'rsa') return false;
  if (sig.sigAlg === SignatureAlgorithm.ecdsa && keyType !== 'ec') return false;
  if (sig.sigAlg !== SignatureAlgorithm.rsa && sig.sigAlg !== SignatureAlgorithm.ecdsa) return false;
  return scheme.verify(hash, input, cert.publicKey, sig.value);
}

/** Verifies a message's signature; returns the signer or throws ReloadError(Forbidden). */
export function verifyMessage(m: DecodedMessage, store: CertificateStore): SignerInfo {
  const sig = m.security.signature;
  const signer = findSigner(sig.identity, m.security.certificates, store);
  const input = messageSignatureInput(m.header.overlay, m.header.transactionId, m.contentsBytes, m.signerIdentityBytes, signatureInputBuffer());
  if (!checkSignature(sig, signer.certificate, input, store.policy.signatures)) {
    throw ReloadError.forbidden('message signature does not verify');
  }
  return signer;
}

/** Verifies a StoredData signature; returns the signer or throws ReloadError(Forbidden). */
export function verifyStoredData(
  resourceId: Uint8Array,
  kind: number,
  data: StoredData,
  certificates: readonly GenericCertificate[],
  store: CertificateStore,
): SignerInfo {
  if (data.value.model === 'unknown' || !data.signature) {
    throw ReloadError.forbidden(`Kind ${kind} is unknown here; its values cannot be verified`);
  }
  const sig = data.signature;
  // RFC 6940 §7.4.1.1: identity none or algorithm {0,0} is never acceptable in a Store.
  if (sig.identity.type === 'none' || (sig.hashAlg === 0 && sig.sigAlg === 0)) {
    throw ReloadError.forbidden('stored data is unsigned');
  }
  const signer = findSigner(sig.identity, certificates, store);
  const input = storedDataSignatureInput(resourceId, kind, data.storageTime, data.value, sig.identity, signatureInputBuffer());
  if (!checkSignature(sig, signer.certificate, input, store.policy.signatures)) {
    throw ReloadError.forbidden('stored data signature does not verify');
  }
  return signer;
}
