/**
 * How signature values are computed and checked. The default, {@link NODE_CRYPTO_SIGNATURES},
 * is the real thing (node:crypto: RSASSA-PKCS1-v1_5 or ECDSA with the named hash, RFC 6940
 * §6.3.4). The scheme is injectable so that the simulator (src/sim/) can offer an explicit,
 * clearly reported "cheap" mode for very large runs; nothing else should replace it.
 */
import { type KeyObject, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { availableParallelism } from 'node:os';

export interface SignatureScheme {
  /** Short name for reports, e.g. "node:crypto". */
  readonly name: string;
  /** Signs `data` with `key`, hashing with `hash` (a node:crypto hash name). */
  sign(hash: string, data: Uint8Array, key: KeyObject): Uint8Array;
  /**
   * The same off the event loop (libuv's thread pool), for schemes with real public-key
   * arithmetic; `data` may be reused as soon as this returns. Schemes without it sign
   * synchronously everywhere.
   */
  signAsync?(hash: string, data: Uint8Array, key: KeyObject): Promise<Uint8Array>;
  /** Whether `signature` is `key`'s signature of `data` (never throws). */
  verify(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean;
}

/**
 * Real signatures with node:crypto (OpenSSL), all computed on the calling thread. For runs on
 * a virtual clock (the simulator, memory-link tests): there computation takes no virtual
 * time, and work finishing on another thread at a real-time moment would let the clock run
 * ahead of it and make runs depend on thread scheduling.
 */
export const NODE_CRYPTO_INLINE_SIGNATURES: SignatureScheme = {
  name: 'node:crypto',
  sign(hash, data, key) {
    // A plain Uint8Array over the signature's own memory (no copy).
    const s = cryptoSign(hash, data, key);
    return new Uint8Array(s.buffer, s.byteOffset, s.length);
  },
  verify(hash, data, key, signature) {
    try {
      return cryptoVerify(hash, data, key, signature);
    } catch {
      return false;
    }
  },
};

/** Real signatures with node:crypto (OpenSSL), signing off the event loop on libuv's thread pool. */
export const NODE_CRYPTO_THREADED_SIGNATURES: SignatureScheme = {
  ...NODE_CRYPTO_INLINE_SIGNATURES,
  signAsync(hash, data, key) {
    // The asynchronous form copies `data` before it returns (node's SignJob in async mode),
    // so the shared signature-input scratch buffer may be reused at once.
    return new Promise((resolve, reject) => {
      cryptoSign(hash, data, key, (err, s) => {
        if (err) reject(err);
        else resolve(new Uint8Array(s.buffer, s.byteOffset, s.length));
      });
    });
  },
};

/**
 * A node's default: signing on the thread pool when this process may use more than one CPU
 * (the event loop goes on routing while another CPU signs), inline when it may use only one.
 * There the pool cannot add capacity, and handing each signature to it costs a thread wake-up
 * and a completion callback: on one core (`taskset -c 0`) bench/overlay measured ~6-7 % more
 * Store and Fetch transactions per second signing inline (288-295 -> 313-314 Stores/s,
 * 1,015-1,056 -> 1,068-1,133 Fetches/s).
 */
export function nodeCryptoSignatures(cpus: number = availableParallelism()): SignatureScheme {
  return cpus > 1 ? NODE_CRYPTO_THREADED_SIGNATURES : NODE_CRYPTO_INLINE_SIGNATURES;
}

/** {@link nodeCryptoSignatures} for this process's CPUs. */
export const NODE_CRYPTO_SIGNATURES: SignatureScheme = nodeCryptoSignatures();
