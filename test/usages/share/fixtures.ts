/**
 * Shared set-up for the ShaRe tests at DataStore level: one overlay CA, enrolled users with
 * chosen Node-IDs (so array index ranges are known), a Kind registry built the way
 * createNode builds it (usage policies, then configured Kinds, then usage Kinds), and
 * helpers that sign ACL items and shared values.
 */
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../../certs/ca.js';
import { VirtualClock } from '../../../src/common/clock.js';
import { ReloadError } from '../../../src/common/errors.js';
import { installUsages } from '../../../src/node/usage.js';
import { makeCredentials } from '../../../src/security/credentials.js';
import { Signer } from '../../../src/security/signer.js';
import { CertificateStore } from '../../../src/security/trust.js';
import type { SignerInfo } from '../../../src/security/verifier.js';
import { KindRegistry } from '../../../src/storage/kinds.js';
import { type KnownStoredData, PolicyRegistry } from '../../../src/storage/policies.js';
import { DataStore } from '../../../src/storage/store.js';
import { utf8 } from '../../../src/wire/codec.js';
import { CertificateType } from '../../../src/wire/constants.js';
import { resourceIdOf } from '../../../src/wire/ids.js';
import type { GenericCertificate } from '../../../src/wire/security-block.js';
import type { StoreAns, StoredDataValue } from '../../../src/wire/storage.js';
import { ACCESS_CONTROL_LIST_KIND, type AccessControlListItem, encodeAclItem, joinNamedValue, shareArrayIndex } from '../../../usages/share/acl.js';
import { shareUsage } from '../../../usages/share/index.js';

export const OVERLAY = 'overlay.example.org';
export const T0 = Date.UTC(2026, 0, 1);

export const ACL = ACCESS_CONTROL_LIST_KIND;
/** Shared Kinds: a dictionary, an array, and a dictionary with variable resource names. */
export const KS = { dict: 0xf0000101, array: 0xf0000102, named: 0xf0000103 } as const;
/** The RFC 8076 §5.1 example pattern. */
export const CONF_PATTERN = '.*-conf-$USER@$DOMAIN';

export const hash = (d: Uint8Array) => resourceIdOf(d, 16);
export const rid = (name: string) => hash(utf8(name));

export interface Identity {
  userName: string;
  signer: Signer;
  info: SignerInfo;
  cert: GenericCertificate;
  nodeId: Uint8Array;
}

const ca = createOverlayCA(OVERLAY, { now: T0 });

/** A user whose Node-ID ends in the three bytes `low` (its ShaRe index range). */
export function enroll(userName: string, low: number, first = 0x10): Identity {
  const key = generateRsaKey();
  const nodeId = new Uint8Array(16);
  nodeId[0] = first;
  nodeId[13] = (low >>> 16) & 0xff;
  nodeId[14] = (low >>> 8) & 0xff;
  nodeId[15] = low & 0xff;
  const der = issueCertificate(ca, { publicKey: key.publicKey, userName, nodeIds: [nodeId], notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2030, 0, 1) });
  const creds = makeCredentials(der, key.privateKey);
  return {
    userName,
    signer: new Signer(creds),
    info: { certificate: creds.certificate, nodeId: creds.nodeId },
    cert: { type: CertificateType.x509, certificate: der },
    nodeId: creds.nodeId,
  };
}

// RFC 8076 Figure 1 uses 0x123abc for the owner and 0x456def for Alice's range.
export const alice = enroll('alice@example.org', 0x123abc, 0x10);
export const bob = enroll('bob@example.org', 0x456def, 0x30);
export const carol = enroll('carol@example.org', 0x000102, 0x50);
export const dave = enroll('dave@example.org', 0xfffffe, 0x70);
export const erin = enroll('erin@example.org', 0x777777, 0x90);
export const everyone = [alice, bob, carol, dave, erin];
export const allCerts: GenericCertificate[] = everyone.map((i) => i.cert);

export interface RegistryOptions {
  /** variable-resource-names patterns for KS.named and the ACL kind (enable="true"). */
  patterns?: string[];
  /** Enable names on the ACL kind too (default true when patterns are given). */
  aclNames?: boolean;
}

/** A KindRegistry built like createNode's: usage policies, configured Kinds, usage Kinds. */
export function shareRegistry(o: RegistryOptions = {}): KindRegistry {
  const policies = new PolicyRegistry();
  const kinds = new KindRegistry({ policies, nodeIdLength: 16 });
  const usage = shareUsage();
  installUsages([usage], { kinds, policies, phase: 'policies' });
  const patterns = o.patterns ?? [CONF_PATTERN];
  const names = { variableResourceNames: { enable: true, patterns } };
  kinds.register({ id: KS.dict, dataModel: 'dictionary', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 256, source: 'config', params: {} });
  kinds.register({ id: KS.array, dataModel: 'array', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 256, source: 'config', params: {} });
  kinds.register({ id: KS.named, dataModel: 'dictionary', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 256, source: 'config', params: names });
  if (o.aclNames ?? true) {
    kinds.register({ id: ACL, name: 'ACCESS-CONTROL-LIST', dataModel: 'array', accessControl: 'USER-CHAIN-ACL', maxCount: 16, maxSize: 4096, source: 'config', params: names });
  }
  installUsages([usage], { kinds, policies, phase: 'kinds' });
  return kinds;
}

export function newStore(kinds = shareRegistry()): { ds: DataStore; clock: VirtualClock; kinds: KindRegistry } {
  const clock = new VirtualClock(T0);
  const certificates = new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], nodeIdLength: 16 }, clock);
  const ds = new DataStore({ kinds, policies: kinds.policies, clock, certificates, hash, nodeIdLength: 16 });
  return { ds, clock, kinds };
}

let time = 1n;
/** A storage_time newer than every one before (one per signed value). */
export function tick(): bigint {
  return time++;
}

/** A StoredData signed by `who`. */
export function signed(who: Identity, resourceId: Uint8Array, kind: number, value: StoredDataValue, storageTime = tick()): KnownStoredData {
  return { storageTime, lifetime: 3600, value, signature: who.signer.signStoredData(resourceId, kind, storageTime, value) };
}

/** An ACL array entry at `who`'s local index. */
export function aclEntry(who: Identity, local: number, item: AccessControlListItem, withName: boolean, exists = true): StoredDataValue {
  return {
    model: 'array',
    index: shareArrayIndex(who.nodeId, local),
    value: { exists, value: exists ? encodeAclItem(item, withName) : new Uint8Array(0) },
  };
}

export function tombstone(index: number): StoredDataValue {
  return { model: 'array', index, value: { exists: false, value: new Uint8Array(0) } };
}

export function dictValue(key: Uint8Array, text: string, resourceName?: string): StoredDataValue {
  const v = resourceName !== undefined ? joinNamedValue(resourceName, utf8(text)) : utf8(text);
  return { model: 'dictionary', key, value: { exists: true, value: v } };
}

export function arrayValue(index: number, text: string): StoredDataValue {
  return { model: 'array', index, value: { exists: true, value: utf8(text) } };
}

/** Stores values of one Kind signed by `who` in an original StoreReq sent by `who`. */
export function put(ds: DataStore, resourceId: Uint8Array, who: Identity, kind: number, values: StoredDataValue[], replicaNumber = 0, gen = 0n): StoreAns {
  return ds.store(
    { resource: resourceId, replicaNumber, kindData: [{ kind, generationCounter: gen, values: values.map((v) => signed(who, resourceId, kind, v)) }] },
    { requestSigner: who.info, certificates: allCerts, replicas: [] },
  );
}

/** The RFC 6940 error code a store fails with, or 'ok'. */
export function outcome(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof ReloadError) return err.errorCode;
    throw err;
  }
}

/** The message of the ReloadError `fn` throws. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReloadError) return err.message;
    throw err;
  }
  return '(accepted)';
}
