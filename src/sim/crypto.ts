/**
 * The simulator's explicit "cheap" signature mode (reported in every result): signature-free
 * operation for very large runs. A "signature" is a 64-bit checksum of the signed bytes
 * (two FNV-1a lanes) repeated to the length a real signature by that key would have (256
 * bytes for RSA-2048), so messages keep their real sizes and the codec, certificate
 * handling and signer-identity resolution run unchanged; only the public-key arithmetic is
 * skipped. It proves nothing about the signer (anyone can compute it) — never use it outside
 * the simulator. A checksum in JS rather than SHA-256 through node:crypto: each native
 * digest allocates an off-heap result buffer, and at 10,000 peers those allocations cost
 * more than the hashing.
 */
import type { KeyObject } from 'node:crypto';
import type { SignatureScheme } from '../security/signature-scheme.js';
import { allocateBytes } from '../wire/slab.js';

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

/** The checksum lanes of `algorithm` ‖ `data` (the hash name keeps sha1 and sha256 "signatures" apart). */
function checksum(algorithm: string, data: Uint8Array): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < algorithm.length; i++) {
    a = Math.imul(a ^ algorithm.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ algorithm.charCodeAt(i), 0x5bd1e995);
  }
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, b >>> 0];
}

/** Byte `i` of the repeated 8-byte checksum. */
function byteAt(a: number, b: number, i: number): number {
  const k = i & 7;
  return k < 4 ? (a >>> (k * 8)) & 0xff : (b >>> ((k - 4) * 8)) & 0xff;
}

function digestSignature(algorithm: string, data: Uint8Array, length: number): Uint8Array {
  const [a, b] = checksum(algorithm, data);
  const out = allocateBytes(length);
  for (let i = 0; i < length; i++) out[i] = byteAt(a, b, i);
  return out;
}

/** Signature-free mode: checksums instead of signatures (INSECURE, simulator only). */
export const DIGEST_SIGNATURES: SignatureScheme = {
  name: 'digest (signature-free, insecure: simulator only)',
  sign: (hash, data, key) => digestSignature(hash, data, signatureLength(key)),
  verify(hash, data, _key, signature) {
    if (signature.length === 0) return false;
    const [a, b] = checksum(hash, data);
    for (let i = 0; i < signature.length; i++) if (signature[i] !== byteAt(a, b, i)) return false;
    return true;
  },
};
