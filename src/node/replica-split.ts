/**
 * Splitting a replica (or migration) Store into StoreReqs that fit the overlay's
 * max-message-size (RFC 6940 §7.4.1.3 replication; §11.1 max-message-size, default 5000).
 * A resource written by several users carries one certificate per signer (RFC 6940 §6.3.4),
 * so a single StoreReq of the whole resource soon exceeds the limit and could not be sent at
 * all. Parts keep the Kinds in ascending Kind-ID order and the values of a Kind in their
 * stored order, never split a value, and carry only the certificates of their values'
 * signers. The caller sends them one after the other, in order (a usage such as ShaRe
 * relies on the ACCESS-CONTROL-LIST Kind, 0x4, arriving before the Kinds it governs).
 */
import type { WireContext } from '../wire/context.js';
import { type StoreKindData, type StoredData, storageCodecs } from '../wire/storage.js';

/** Bytes of a StoreReq message beyond its body and the values' certificates: forwarding
 * header, message contents framing, the sender's own certificate is counted separately,
 * signature (up to RSA-4096) and vector prefixes. */
export const REPLICA_MESSAGE_OVERHEAD_BYTES = 1024;

export interface ReplicaPart {
  kindData: StoreKindData[];
  /** DER certificates of the signers of this part's values. */
  certificates: Uint8Array[];
}

/**
 * Splits `kindData` into parts whose StoreReq stays within `budget` bytes (body plus the
 * certificates carried). `certificateOf` names the DER certificate of a value's signer. A
 * value too large on its own becomes a part of its own (its send then fails by itself).
 */
export function splitReplicaStore(
  ctx: WireContext,
  resourceId: Uint8Array,
  replicaNumber: number,
  kindData: readonly StoreKindData[],
  certificateOf: (kind: number, value: StoredData) => Uint8Array | undefined,
  budget: number,
): ReplicaPart[] {
  const codec = storageCodecs(ctx).storeReq;
  const base = codec.size({ resource: resourceId, replicaNumber, kindData: [] });
  const parts: ReplicaPart[] = [];
  let current: StoreKindData[] = [];
  // Keyed by the DER buffer itself: the certificate store hands out one cached buffer per
  // certificate (a base64 key per value hashed a kilobyte-long string each time).
  let certs = new Set<Uint8Array>();
  let size = base;
  const flush = (): void => {
    if (current.length === 0) return;
    parts.push({ kindData: current, certificates: [...certs] });
    current = [];
    certs = new Set();
    size = base;
  };
  for (const kd of kindData) {
    const emptyKind = codec.size({ resource: resourceId, replicaNumber, kindData: [{ ...kd, values: [] }] }) - base;
    let open: StoreKindData | undefined;
    for (const v of kd.values) {
      const valueSize = codec.size({ resource: resourceId, replicaNumber, kindData: [{ ...kd, values: [v] }] }) - base - emptyKind;
      const der = certificateOf(kd.kind, v);
      const certSize = der && !certs.has(der) ? der.length + 3 : 0;
      const add = valueSize + certSize + (open ? 0 : emptyKind);
      if (size + add > budget && current.length > 0) {
        flush();
        open = undefined;
      }
      if (!open) {
        open = { kind: kd.kind, generationCounter: kd.generationCounter, values: [] };
        current.push(open);
        size += emptyKind;
      }
      open.values.push(v);
      size += valueSize;
      if (der && !certs.has(der)) {
        certs.add(der);
        size += der.length + 3;
      }
    }
  }
  flush();
  return parts;
}
