/**
 * The simulator's explicit "cheap" signature mode (reported in every result): signature-free
 * operation for very large runs. A "signature" is SHA-256 of the signed bytes repeated to
 * the length a real signature by that key would have (256 bytes for RSA-2048), so messages
 * keep their real sizes and the codec, certificate handling and signer-identity resolution
 * run unchanged; only the public-key arithmetic is skipped. It proves nothing about the
 * signer — never use it outside the simulator.
 */
import { type KeyObject, hash } from 'node:crypto';
import type { SignatureScheme } from '../security/signature-scheme.js';

const lengths = new WeakMap<KeyObject, number>();

/** Length in bytes of a real signature made with `key` (RSA: modulus size; ECDSA P-256 DER: 72). */
function signatureLength(key: KeyObject): number {
  let n = lengths.get(key);
  if (n === undefined) {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    n = bits ? Math.ceil(bits / 8) : 72;
    lengths.set(key, n);
  }
  return n;
}

function digestSignature(algorithm: string, data: Uint8Array, length: number): Uint8Array {
  const d = hash(algorithm, data, 'buffer');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += d.length) out.set(d.subarray(0, Math.min(d.length, length - i)), i);
  return out;
}

/** Signature-free mode: digests instead of signatures (INSECURE, simulator only). */
export const DIGEST_SIGNATURES: SignatureScheme = {
  name: 'digest (signature-free, insecure: simulator only)',
  sign: (hash, data, key) => digestSignature(hash, data, signatureLength(key)),
  verify(hash, data, _key, signature) {
    let expected: Uint8Array;
    try {
      expected = digestSignature(hash, data, signature.length);
    } catch {
      return false;
    }
    if (signature.length === 0) return false;
    for (let i = 0; i < expected.length; i++) if (expected[i] !== signature[i]) return false;
    return true;
  },
};
