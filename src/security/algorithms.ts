/**
 * Signature algorithms (RFC 6940 §6.3.4: SignatureAndHashAlgorithm from TLS 1.2). The
 * mandatory one is RSASSA-PKCS1-v1_5 with SHA-256, `04 01`; ECDSA P-256 with SHA-256
 * (`04 03`) is also accepted.
 */
import { type KeyObject, createHash, hash as oneShotHash } from 'node:crypto';
import { HashAlgorithm, SignatureAlgorithm } from '../wire/constants.js';

const HASH_NAMES: Record<number, string> = {
  [HashAlgorithm.sha1]: 'sha1',
  [HashAlgorithm.sha224]: 'sha224',
  [HashAlgorithm.sha256]: 'sha256',
  [HashAlgorithm.sha384]: 'sha384',
  [HashAlgorithm.sha512]: 'sha512',
};

/** node:crypto's name for a TLS HashAlgorithm code; undefined for none/md5/unknown. */
export function hashName(code: number): string | undefined {
  return HASH_NAMES[code];
}

export function digest(code: number, ...parts: Uint8Array[]): Uint8Array | undefined {
  const name = hashName(code);
  if (!name) return undefined;
  // One part (a certificate, on every message verified): the one-shot hash is cheaper.
  if (parts.length === 1) return new Uint8Array(oneShotHash(name, parts[0]!, 'buffer'));
  const h = createHash(name);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Size of the reused signature-input buffer; larger inputs get their own. */
export const SIGNATURE_INPUT_BUFFER_BYTES = 64 * 1024;
let scratch: Uint8Array | undefined;

/**
 * A buffer to build signature inputs in, reused by every signature: signing and verifying
 * are synchronous and keep nothing of their input, so this saves allocating (and
 * collecting) one buffer per signature. Valid only between building an input and the
 * sign/verify call; the input builders (messageSignatureInput, storedDataSignatureInput)
 * use their own buffer when an input does not fit.
 */
export function signatureInputBuffer(): Uint8Array {
  return (scratch ??= new Uint8Array(SIGNATURE_INPUT_BUFFER_BYTES));
}

/** The SignatureAlgorithm code matching a key. */
export function signatureAlgorithmOf(key: KeyObject): number {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return SignatureAlgorithm.rsa;
    case 'ec':
      return SignatureAlgorithm.ecdsa;
    case 'dsa':
      return SignatureAlgorithm.dsa;
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}
