/**
 * Shared set-up for the storage tests: one overlay CA and a few enrolled identities with
 * real RSA keys (created once per test file: each file runs in its own process), a Kind
 * registry with test Kinds, and helpers that sign values and build requests.
 */
import { randomBytes } from 'node:crypto';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { VirtualClock } from '../../src/common/clock.js';
import { ReloadError } from '../../src/common/errors.js';
import { makeCredentials } from '../../src/security/credentials.js';
import { Signer } from '../../src/security/signer.js';
import { CertificateStore } from '../../src/security/trust.js';
import type { SignerInfo } from '../../src/security/verifier.js';
import { KindRegistry } from '../../src/storage/kinds.js';
import { type KnownStoredData, PolicyRegistry } from '../../src/storage/policies.js';
import { DataStore, type DataStoreInit, type StoreContext } from '../../src/storage/store.js';
import { CertificateType } from '../../src/wire/constants.js';
import type { GenericCertificate } from '../../src/wire/security-block.js';
import type { StoreAns, StoredData, StoredDataValue } from '../../src/wire/storage.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import { utf8 } from '../../src/wire/codec.js';

export const OVERLAY = 'overlay.example.org';
export const T0 = Date.UTC(2026, 0, 1);
const VALID_FROM = Date.UTC(2025, 0, 1);
const VALID_TO = Date.UTC(2030, 0, 1);

export interface Identity {
  userName: string;
  signer: Signer;
  /** The SignerInfo the verifier would resolve. */
  info: SignerInfo;
  cert: GenericCertificate;
  nodeId: Uint8Array;
}

/** Test Kinds (private-use ids, RFC 6940 §14.3) plus IANA ones. */
export const K = {
  single: 0xf0000001,
  array: 0xf0000002,
  dict: 0xf0000003,
  small: 0xf0000004,
  sip: 0x1,
  turn: 0x2,
  certByNode: 0x3,
  certByUser: 0x10,
} as const;

export const hash = (d: Uint8Array) => resourceIdOf(d, 16);
export const userRid = (name: string) => resourceIdOf(utf8(name), 16);

const ca = createOverlayCA(OVERLAY, { now: T0 });
const keyA = generateRsaKey();
const keyB = generateRsaKey();

function enroll(userName: string, key: ReturnType<typeof generateRsaKey>, nodeCount = 1, nodeIndex = 0): Identity {
  const nodeIds = Array.from({ length: nodeCount }, () => new Uint8Array(randomBytes(16)));
  const der = issueCertificate(ca, { publicKey: key.publicKey, userName, nodeIds, notBefore: VALID_FROM, notAfter: VALID_TO });
  const creds = makeCredentials(der, key.privateKey, nodeIndex);
  return {
    userName,
    signer: new Signer(creds),
    info: { certificate: creds.certificate, nodeId: creds.nodeId },
    cert: { type: CertificateType.x509, certificate: der },
    nodeId: creds.nodeId,
  };
}

export const alice = enroll('alice@example.org', keyA);
export const bob = enroll('bob@example.org', keyB);
/** Two Node-IDs, signing as the second (cert_hash_node_id identity). */
export const carol = enroll('carol@example.org', keyA, 2, 1);
export const allCerts: GenericCertificate[] = [alice.cert, bob.cert, carol.cert];

export function newClock(): VirtualClock {
  return new VirtualClock(T0);
}

export function newRegistry(): KindRegistry {
  const policies = new PolicyRegistry();
  const kinds = new KindRegistry({ policies, nodeIdLength: 16 });
  kinds.register({ id: K.single, name: 'TEST-SINGLE', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 64, source: 'config' });
  kinds.register({ id: K.array, name: 'TEST-ARRAY', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 8, maxSize: 64, source: 'config' });
  kinds.register({ id: K.dict, name: 'TEST-DICT', dataModel: 'dictionary', accessControl: 'USER-MATCH', maxCount: 4, maxSize: 64, source: 'config' });
  kinds.register({ id: K.small, name: 'TEST-SMALL', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 2, maxSize: 4, source: 'config' });
  kinds.register({ id: K.sip, dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 8, maxSize: 256, source: 'config' });
  kinds.register({ id: K.turn, dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 64, source: 'config' });
  kinds.register({ id: K.certByNode, dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: 4, maxSize: 4096, source: 'config' });
  kinds.register({ id: K.certByUser, dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 4, maxSize: 4096, source: 'config' });
  return kinds;
}

export function newStore(
  clock = newClock(),
  extra: Partial<DataStoreInit> = {},
): { ds: DataStore; clock: VirtualClock; kinds: KindRegistry; certificates: CertificateStore } {
  const kinds = extra.kinds ?? newRegistry();
  const certificates = new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], nodeIdLength: 16 }, clock);
  const ds = new DataStore({ kinds, policies: kinds.policies, clock, certificates, hash, nodeIdLength: 16, ...extra });
  return { ds, clock, kinds, certificates };
}

export const bytes = (s: string) => utf8(s);

export function single(v: string | Uint8Array, exists = true): StoredDataValue {
  return { model: 'single', value: { exists, value: typeof v === 'string' ? utf8(v) : v } };
}
export function entry(index: number, v: string, exists = true): StoredDataValue {
  return { model: 'array', index, value: { exists, value: utf8(v) } };
}
export function dictEntry(key: Uint8Array, v: string, exists = true): StoredDataValue {
  return { model: 'dictionary', key, value: { exists, value: utf8(v) } };
}

/** A StoredData signed by `who`. */
export function signed(who: Identity, rid: Uint8Array, kind: number, value: StoredDataValue, storageTime: bigint, lifetime = 3600): KnownStoredData {
  return { storageTime, lifetime, value, signature: who.signer.signStoredData(rid, kind, storageTime, value) };
}

export function ctx(requestSigner: Identity = alice, certificates = allCerts, replicas: Uint8Array[] = []): StoreContext {
  return { requestSigner: requestSigner.info, certificates, replicas };
}

export interface KindValues {
  kind: number;
  values: StoredData[];
  gen?: bigint;
}

export function storeReq(rid: Uint8Array, kinds: KindValues[], replicaNumber = 0) {
  return { resource: rid, replicaNumber, kindData: kinds.map((k) => ({ kind: k.kind, generationCounter: k.gen ?? 0n, values: k.values })) };
}

export function put(ds: DataStore, rid: Uint8Array, kinds: KindValues[], opts: { replica?: number; by?: Identity } = {}): StoreAns {
  return ds.store(storeReq(rid, kinds, opts.replica ?? 0), ctx(opts.by ?? alice));
}

/** Runs `fn`, expects a ReloadError, returns it. */
export function reloadError(fn: () => unknown): ReloadError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReloadError) return err;
    throw err;
  }
  throw new Error('expected a ReloadError, none was thrown');
}
