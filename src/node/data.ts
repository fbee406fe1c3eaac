/**
 * Building signed values for a Store and checking fetched values (RFC 6940 §7.1, §7.4.2):
 * the writer signs each StoredData; the reader verifies each value's signature and
 * certificate and drops those that fail.
 */
import type { DataModel } from '../wire/constants.js';
import { ARRAY_INDEX_LAST } from '../wire/constants.js';
import type { GenericCertificate } from '../wire/security-block.js';
import type { FetchKindResponse, StoredData, StoredDataValue } from '../wire/storage.js';
import type { Signer } from '../security/signer.js';
import type { CertificateStore } from '../security/trust.js';
import { type SignerInfo, verifyStoredData } from '../security/verifier.js';
import { CertificateType } from '../wire/constants.js';

/** A value to store, in the terms of its data model. */
export type ValueToStore =
  | { model: 'single'; value: Uint8Array; exists?: boolean }
  /** index 0xFFFFFFFF (or omitted) appends. */
  | { model: 'array'; index?: number; value: Uint8Array; exists?: boolean }
  | { model: 'dictionary'; key: Uint8Array; value: Uint8Array; exists?: boolean };

/** Default lifetime of stored values, seconds. */
export const DEFAULT_LIFETIME_S = 3600;

export function toStoredDataValue(v: ValueToStore): StoredDataValue {
  const exists = v.exists ?? true;
  const dataValue = { exists, value: exists ? v.value : new Uint8Array(0) };
  switch (v.model) {
    case 'single':
      return { model: 'single', value: dataValue };
    case 'array':
      return { model: 'array', index: v.index ?? ARRAY_INDEX_LAST, value: dataValue };
    case 'dictionary':
      return { model: 'dictionary', key: v.key, value: dataValue };
  }
}

/**
 * Signs values for a Store, off the event loop where the signature scheme can (every
 * value's signature in parallel). `storageTime` must exceed the time of what it replaces
 * (RFC 6940 §7.4.1.1); callers pass a clock reading in ms.
 */
export function signValues(
  signer: Signer,
  resourceId: Uint8Array,
  kind: number,
  values: ValueToStore[],
  storageTimeMs: number,
  lifetimeS = DEFAULT_LIFETIME_S,
): Promise<StoredData[]> {
  const storageTime = BigInt(storageTimeMs);
  return Promise.all(
    values.map(async (v) => {
      const value = toStoredDataValue(v);
      return { storageTime, lifetime: lifetimeS, value, signature: await signer.signStoredDataAsync(resourceId, kind, storageTime, value) };
    }),
  );
}

/** A fetched value whose signature checked out. */
export interface VerifiedValue {
  data: StoredData & { value: StoredDataValue };
  signer: SignerInfo | undefined;
  /** Synthesized by the storing peer (RFC 6940 §7.4.2.2): exists=false, unsigned. */
  synthetic: boolean;
}

/**
 * Verifies the values of a FetchKindResponse; values failing the check are dropped and
 * counted in `rejected` (RFC 6940 §7.4.2: the receiver MUST verify and drop failures).
 */
export function verifyFetched(
  resourceId: Uint8Array,
  response: FetchKindResponse,
  certificates: Uint8Array[],
  store: CertificateStore,
  model: DataModel | undefined,
): { values: VerifiedValue[]; rejected: number } {
  const certs: GenericCertificate[] = certificates.map((c) => ({ type: CertificateType.x509, certificate: c }));
  const values: VerifiedValue[] = [];
  let rejected = 0;
  for (const d of response.values) {
    if (d.value.model === 'unknown' || (model && d.value.model !== model)) {
      rejected++;
      continue;
    }
    const data = d as StoredData & { value: StoredDataValue };
    const sig = data.signature!;
    if (sig.identity.type === 'none') {
      // Only non-existent values may be synthesized unsigned.
      if (!data.value.value.exists) values.push({ data, signer: undefined, synthetic: true });
      else rejected++;
      continue;
    }
    try {
      const signer = verifyStoredData(resourceId, response.kind, data, certs, store);
      values.push({ data, signer, synthetic: false });
    } catch {
      rejected++;
    }
  }
  return { values, rejected };
}
