/**
 * Identities for simulated peers: an overlay CA and, for every peer, a certificate issued
 * by it that binds the peer's Node-ID (RFC 6940 §11.3) — the real thing.
 *
 * Keys: by default every peer gets its own RSA-2048 key pair (generated in the libuv thread
 * pool, so all cores help; ~0.2 s of CPU per key). The explicit cheap option `keyPool: K`
 * shares K pre-made key pairs round-robin: certificates, Node-IDs, signer identities and
 * signature sizes stay per peer and real; only the key generation cost is avoided.
 */
import { type KeyObject, generateKeyPair } from 'node:crypto';
import { type OverlayCA, createOverlayCA, issueCertificate } from '../../certs/ca.js';
import { type Credentials, makeCredentials } from '../security/credentials.js';

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function rsaKeyPair(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    });
  });
}

export interface IdentityFactoryOptions {
  overlay: string;
  /** 0 = a key pair per peer (default); K > 0 = K shared key pairs (cheap mode). */
  keyPool: number;
  /** Certificate validity start, ms since the epoch (the virtual clock's start). */
  notBefore: number;
  /** Certificate validity end, ms since the epoch. */
  notAfter: number;
}

export class IdentityFactory {
  readonly ca: OverlayCA;
  private readonly pool: KeyPair[] = [];
  private readonly fresh: KeyPair[] = [];
  private next = 0;
  /** CPU-heavy set-up done so far, for the report. */
  keysGenerated = 0;
  certificatesIssued = 0;

  constructor(readonly options: IdentityFactoryOptions) {
    if (!Number.isInteger(options.keyPool) || options.keyPool < 0) throw new RangeError(`keyPool must be 0 or a positive integer, got ${options.keyPool}`);
    this.ca = createOverlayCA(options.overlay, { now: options.notBefore + 5 * 60_000 });
  }

  /** Makes sure `count` more identities can be issued without waiting (keys generated in parallel). */
  async prepare(count: number): Promise<void> {
    if (this.options.keyPool > 0) {
      const missing = this.options.keyPool - this.pool.length;
      if (missing > 0) {
        const made = await Promise.all(Array.from({ length: missing }, rsaKeyPair));
        this.keysGenerated += made.length;
        this.pool.push(...made);
      }
      return;
    }
    const missing = count - this.fresh.length;
    if (missing <= 0) return;
    // Bounded batches keep the thread pool busy without queueing thousands of jobs at once.
    for (let done = 0; done < missing; ) {
      const n = Math.min(64, missing - done);
      const made = await Promise.all(Array.from({ length: n }, rsaKeyPair));
      this.keysGenerated += made.length;
      this.fresh.push(...made);
      done += n;
    }
  }

  /** The public key the next issued identity will have (an enrollment CSR's key). */
  nextPublicKey(): KeyObject {
    const keys = this.options.keyPool > 0 ? this.pool[this.next % this.pool.length] : this.fresh[0];
    if (!keys) throw new Error('IdentityFactory: no key ready (call prepare() first)');
    return keys.publicKey;
  }

  /** Credentials for `userName` with `nodeId` (call prepare() first). */
  issue(userName: string, nodeId: Uint8Array): Credentials {
    let keys: KeyPair | undefined;
    if (this.options.keyPool > 0) {
      keys = this.pool[this.next++ % this.pool.length];
    } else {
      keys = this.fresh.shift();
    }
    if (!keys) throw new Error('IdentityFactory: no key ready (call prepare() first)');
    const der = issueCertificate(this.ca, {
      publicKey: keys.publicKey,
      userName: `${userName}@${this.options.overlay}`,
      nodeIds: [nodeId],
      notBefore: this.options.notBefore,
      notAfter: this.options.notAfter,
    });
    this.certificatesIssued++;
    return makeCredentials(der, keys.privateKey);
  }
}
