/**
 * Identifiers (RFC 6940 §5.2, §6.3.2): the overlay hash that goes into every forwarding
 * header, Resource-IDs as CHORD-RELOAD computes them, and Node-ID helpers.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { toHex, utf8 } from './codec.js';

/** Low-order 32 bits of SHA-1(overlay name): the last 4 digest bytes (RFC 6940 §6.3.2). */
export function overlayHash(overlayName: string): number {
  const d = sha1(utf8(overlayName));
  return ((d[16]! << 24) | (d[17]! << 16) | (d[18]! << 8) | d[19]!) >>> 0;
}

/**
 * Resource-ID of a Resource Name for CHORD-RELOAD: the most significant 128 bits of
 * SHA-1(name) (RFC 6940 §9.2). `length` bytes are kept (the overlay's NodeIdLength).
 */
export function resourceIdOf(name: string | Uint8Array, length = 16): Uint8Array {
  return sha1(typeof name === 'string' ? utf8(name) : name).subarray(0, length);
}

/** The wildcard Node-ID: all ones (RFC 6940 §6.3.2.2). */
export function wildcardNodeId(length = 16): Uint8Array {
  return new Uint8Array(length).fill(0xff);
}

export function isWildcardNodeId(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0xff) return false;
  return true;
}

/** Compares two equal-length ids as big-endian unsigned integers. */
export function compareIds(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length - b.length;
}

export function idHex(id: Uint8Array): string {
  return toHex(id);
}
