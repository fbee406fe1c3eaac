/**
 * The local data store of a RELOAD peer (RFC 6940 §7; behaviour digest §3): per
 * Resource-ID and Kind, values in the Kind's data model (single value, sparse array,
 * dictionary), each with its storage_time, lifetime, signature and signer; a generation
 * counter per (Resource-ID, Kind); Store processing with every check that does not need the
 * topology; Fetch, Stat and Find answers; expiry on the injected Clock; and the export /
 * drop primitives the topology uses for replication and migration.
 *
 * What the caller (the node's Store handler) does before calling {@link DataStore.store}:
 * step 1 of RFC 6940 §7.4.1.1 — responsibility for an original store, replica plausibility
 * (the sender is plausibly the responsible peer) for replica stores — and verifying the
 * message signature, which yields the `requestSigner`.
 *
 * Partition healing (RFC 6940 §7.4.1.3, behaviour digest §3.2): when a re-store of someone
 * else's data (replica or migration) is refused here with Error_Generation_Counter_Too_Low
 * or Error_Data_Too_Old, the re-storing peer MUST fetch the newer data from the peer that
 * refused and replace its own copy. That merge ("behave as if all values were stored in
 * storage_time order") is done by the caller: fetch, then `store()` the fetched values as a
 * replica store; values older than what is held are refused value by value with
 * Error_Data_Too_Old, so the caller stores them one Kind (or one value) at a time and keeps
 * the newer ones. This module keeps no topology state.
 *
 * Choices the RFC leaves open, made here:
 * - Fetch returns held values with their remaining lifetime (not the lifetime received).
 * - Stat reports the values held only; it synthesizes nothing.
 * - Array gaps are synthesized up to the highest index held, within a bound (see
 *   DEFAULT_MAX_SYNTHESIZED_ENTRIES); nothing lies past the end of an array.
 * - A Kind whose values have all expired and been swept starts again at counter 0, so its
 *   next store answers 1.
 * - A replica store carrying exactly the value held (same storage_time, value, signature)
 *   is accepted without change, so re-replication is idempotent; every other replaced
 *   value must have a strictly newer storage_time.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../common/clock.js';
import { ReloadError } from '../common/errors.js';
import { Writer, bytesEqual, encode, toHex } from '../wire/codec.js';
import { ARRAY_INDEX_LAST, type DataModel, ErrorCode, HashAlgorithm } from '../wire/constants.js';
import { unknownKinds } from '../wire/error.js';
import { compareIds, resourceIdOf } from '../wire/ids.js';
import { type GenericCertificate, type Signature, type SignerIdentity, UNSIGNED, signature as signatureCodec } from '../wire/security-block.js';
import {
  type DataValue,
  type FetchAns,
  type FetchKindResponse,
  type FetchReq,
  type FindAns,
  type FindReq,
  type MetaDataValue,
  type StatAns,
  type StatKindResponse,
  type StatReq,
  type StoreAns,
  type StoreKindData,
  type StoreReq,
  type StoredData,
  type StoredDataSpecifier,
  type StoredDataValue,
  type StoredMetaData,
  storageCodecs,
  storedDataValue,
} from '../wire/storage.js';
import type { CertificateStore } from '../security/trust.js';
import { type SignerInfo, verifyStoredData } from '../security/verifier.js';
import type { KindDefinition, KindRegistry } from './kinds.js';
import type { AccessPolicy, KnownStoredData, OverlayHash, PolicyCheck, PolicyRegistry, ResourceView, StoredValueView, ValueCheck } from './policies.js';

/** How often expired values are swept from memory (reads already ignore them). */
export const EXPIRY_SWEEP_INTERVAL_MS = 30_000;
/** Default cap on the bytes of stored values (encoded StoredData) this peer holds. */
export const DEFAULT_MAX_STORED_BYTES = 64 * 1024 * 1024;
/**
 * Default bound on the non-existent entries a Fetch synthesizes for the gaps of one array
 * Kind. Arrays may be very sparse (ShaRe indexes are Node-ID based, RFC 8076 §3.1): when the
 * requested ranges hold more gaps than this, only the values held are returned.
 */
export const DEFAULT_MAX_SYNTHESIZED_ENTRIES = 1024;

export interface DataStoreInit {
  /** Kinds known here (also the WireContext for error_info encoding). */
  kinds: KindRegistry;
  /** Access-control policies the Kinds name. */
  policies: PolicyRegistry;
  /** Time for storage_time comparisons, lifetimes and the expiry sweep. */
  clock: Clock;
  /** Trust policy checking the certificates of stored-data signers. */
  certificates: CertificateStore;
  /** The overlay hash for access control. @default the first nodeIdLength bytes of SHA-1 */
  hash?: OverlayHash;
  /** NodeIdLength; must equal the KindRegistry's. @default kinds.nodeIdLength */
  nodeIdLength?: number;
  /** Cap on the total bytes of stored values; beyond it stores fail with Error_Data_Too_Large. @default DEFAULT_MAX_STORED_BYTES */
  maxResourcesBytes?: number;
  /** Interval of the expiry sweep. @default EXPIRY_SWEEP_INTERVAL_MS */
  sweepIntervalMs?: number;
  /** Bound on synthesized array gap entries per Fetch Kind. @default DEFAULT_MAX_SYNTHESIZED_ENTRIES */
  maxSynthesizedEntries?: number;
}

/** What the Store handler passes along with a StoreReq. */
export interface StoreContext {
  /** The verified signer of the StoreReq message. */
  requestSigner: SignerInfo;
  /** The certificates of the message's SecurityBlock (to verify the values' signatures). */
  certificates: readonly GenericCertificate[];
  /** Node-IDs of the replicas the data will be copied to, for the StoreAns. */
  replicas: readonly Uint8Array[];
}

/** A resource's data ready for a replica / migration StoreReq. */
export interface ResourceExport {
  resourceId: Uint8Array;
  /** One entry per Kind: its generation counter and the original StoredData (signatures
   * intact, array entries with their real index) with lifetimes reduced by the time held. */
  kindData: StoreKindData[];
  /** DER certificates of every signer, for the StoreReq's SecurityBlock. */
  certificates: Uint8Array[];
}

export interface ResourceStats {
  kinds: number;
  values: number;
  bytes: number;
}

interface Entry {
  /** Deep copy of the StoredData; lifetime as received; array index = real index. */
  readonly data: KnownStoredData;
  readonly signer: SignerInfo;
  readonly expiresAt: number;
  readonly bytes: number;
}

interface KindSlot {
  readonly kind: number;
  readonly model: DataModel;
  generation: bigint;
  single: Entry | undefined;
  readonly array: Map<number, Entry>;
  /** Keyed by the hex of the dictionary key. */
  readonly dict: Map<string, Entry>;
  bytes: number;
}

interface Resource {
  readonly id: Uint8Array;
  readonly kinds: Map<number, KindSlot>;
}

type Selected = { entry: Entry } | { missing: StoredDataValue };

const EMPTY = new Uint8Array(0);

export class DataStore {
  readonly kinds: KindRegistry;
  readonly nodeIdLength: number;
  private readonly policies: PolicyRegistry;
  private readonly clock: Clock;
  private readonly certificateStore: CertificateStore;
  private readonly hash: OverlayHash;
  private readonly maxBytes: number;
  private readonly sweepIntervalMs: number;
  private readonly maxSynthesized: number;
  private readonly byId = new Map<string, Resource>();
  private totalBytes = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(init: DataStoreInit) {
    this.kinds = init.kinds;
    this.policies = init.policies;
    this.clock = init.clock;
    this.certificateStore = init.certificates;
    this.nodeIdLength = init.nodeIdLength ?? init.kinds.nodeIdLength;
    if (this.nodeIdLength !== init.kinds.nodeIdLength) {
      throw new RangeError(`nodeIdLength ${this.nodeIdLength} differs from the KindRegistry's ${init.kinds.nodeIdLength}`);
    }
    const len = this.nodeIdLength;
    this.hash = init.hash ?? ((d) => resourceIdOf(d, len));
    this.maxBytes = init.maxResourcesBytes ?? DEFAULT_MAX_STORED_BYTES;
    this.sweepIntervalMs = init.sweepIntervalMs ?? EXPIRY_SWEEP_INTERVAL_MS;
    this.maxSynthesized = init.maxSynthesizedEntries ?? DEFAULT_MAX_SYNTHESIZED_ENTRIES;
  }

  // ---------------------------------------------------------------------------------------
  // Store (RFC 6940 §7.4.1)

  /**
   * Processes a StoreReq atomically (every Kind or none) and returns the StoreAns. Throws
   * ReloadError: Error_Invalid_Message (duplicate Kinds, value not of the Kind's data model,
   * replica store with generation 0, empty Resource-ID), Error_Unknown_Kind (error_info =
   * the unknown Kind-IDs), Error_Forbidden (signature, unsigned value, access policy, usage
   * validation may throw its own code), Error_Generation_Counter_Too_Low (error_info = a
   * StoreAns with the current counters), Error_Data_Too_Old, Error_Data_Too_Large.
   */
  store(req: StoreReq, ctx: StoreContext): StoreAns {
    return this.apply(req, ctx).answer;
  }

  /**
   * `store`, also counting the values it wrote: a replica holder receiving values it
   * already holds writes none (RFC 6940 §7.4.1.1 step 7 keeps the copy). The Store handler
   * uses the count to pass on only news.
   */
  apply(req: StoreReq, ctx: StoreContext): { answer: StoreAns; valuesWritten: number } {
    const now = this.clock.now();
    let valuesWritten = 0;
    if (req.resource.length === 0) throw ReloadError.invalidMessage('StoreReq with an empty Resource-ID');
    const replica = req.replicaNumber > 0;
    const seen = new Set<number>();
    for (const kd of req.kindData) {
      // RFC 6940 §7.4.1.1: each Kind at most once in a StoreReq.
      if (seen.has(kd.kind)) throw ReloadError.invalidMessage(`Kind ${kd.kind} appears twice in the StoreReq`);
      seen.add(kd.kind);
      // RFC 6940 §7.4.1.3: replica stores copy the counter, which therefore is never 0.
      if (replica && kd.generationCounter === 0n) {
        throw ReloadError.invalidMessage(`replica store of Kind ${kd.kind} carries generation counter 0`);
      }
    }
    this.checkKnownKinds(req.kindData.map((kd) => kd.kind));

    const key = toHex(req.resource);
    const committed = this.byId.get(key);
    const staged = new Map<number, KindSlot>();
    const view = this.view(req.resource, committed, staged, now);
    // Errors of steps 7-8 are reported after the generation check (step 6), in RFC order.
    let deferred: ReloadError | undefined;

    for (const kd of req.kindData) {
      const def = this.kinds.get(kd.kind)!;
      const policy = this.policies.get(def.accessControl);
      if (!policy) throw ReloadError.forbidden(`Kind ${kd.kind}: access-control policy ${def.accessControl} is not available`);
      const slot = cloneLive(committed?.kinds.get(kd.kind), def, now);
      staged.set(kd.kind, slot);
      const countBefore = slotCount(slot);

      for (const sd of kd.values) {
        if (sd.value.model !== def.dataModel) {
          throw ReloadError.invalidMessage(`Kind ${kd.kind} is ${def.dataModel}; a value is ${sd.value.model}`);
        }
        // Steps 3 and 9: signature verifies, identity is not none, algorithm is not {0,0}.
        const valueSigner = verifyStoredData(req.resource, kd.kind, sd, ctx.certificates, this.certificateStore);
        const data = copyStoredData(sd as KnownStoredData, resolveIndex(sd.value as StoredDataValue, slot));
        // One object shape for every check (a spread per check took V8's slow property path).
        const check = (signer: SignerInfo, role: 'value' | 'request'): PolicyCheck => ({
          resourceId: req.resource,
          kind: def,
          storedData: data,
          valueSigner,
          requestSigner: ctx.requestSigner,
          replicaNumber: req.replicaNumber,
          hash: this.hash,
          stored: view,
          kinds: this.kinds,
          value: data.value,
          signer,
          role,
        });
        // Step 4: the value's signer; step 5: on original stores the StoreReq's signer too.
        const asValue = check(valueSigner, 'value');
        try {
          runPolicy(policy, asValue);
        } catch (err) {
          // A policy may ask that a refused replica value be left out, not fail the replica.
          if (replica && policy.omitRefusedReplicaValues && err instanceof ReloadError && err.errorCode === ErrorCode.forbidden) continue;
          throw err;
        }
        if (!replica) runPolicy(policy, check(ctx.requestSigner, 'request'));
        if (def.validate && data.value.value.exists) runValidation(def, data.value, asValue);

        const existing = slotGet(slot, data.value);
        if (existing) {
          // A replica holder receiving the very value it holds (re-replication) keeps it.
          if (replica && sameStoredValue(existing.data, data)) continue;
          // Step 7 (RFC 6940 §7.4.1.1, §13.7): storage_time must be newer; equal is too old.
          if (data.storageTime <= existing.data.storageTime) {
            deferred ??= ReloadError.dataTooOld(
              `Kind ${kd.kind}: storage_time ${data.storageTime} is not newer than the stored ${existing.data.storageTime}`,
            );
            continue;
          }
        }
        // Step 8: max-size per value.
        if (data.value.value.value.length > def.maxSize) {
          deferred ??= ReloadError.dataTooLarge(`Kind ${kd.kind}: value of ${data.value.value.value.length} bytes exceeds max-size ${def.maxSize}`);
          continue;
        }
        valuesWritten++;
        slotPut(slot, {
          data,
          signer: valueSigner,
          expiresAt: now + data.lifetime * 1000,
          bytes: storedDataBytes(data),
        });
      }
      // Step 8: max-count per (Resource-ID, Kind). A store that does not add values is let
      // through even if a lowered max-count is already exceeded (it can only replace).
      const countAfter = slotCount(slot);
      if (countAfter > def.maxCount && countAfter > countBefore) {
        deferred ??= ReloadError.dataTooLarge(`Kind ${kd.kind}: ${countAfter} values exceed max-count ${def.maxCount}`);
      }
    }

    // Step 6 (RFC 6940 §7.4.1.3): on an original store a non-zero counter must equal the
    // current one; error_info is a StoreAns with the correct counters and no replicas.
    if (!replica) {
      const current = (kind: number) => committed?.kinds.get(kind)?.generation ?? 0n;
      const stale = req.kindData.find((kd) => kd.generationCounter !== 0n && kd.generationCounter !== current(kd.kind));
      if (stale) {
        const ans: StoreAns = {
          kindResponses: req.kindData.map((kd) => ({ kind: kd.kind, generationCounter: current(kd.kind), replicas: [] })),
        };
        throw new ReloadError(
          ErrorCode.generationCounterTooLow,
          `Kind ${stale.kind}: generation counter ${stale.generationCounter} is not the current ${current(stale.kind)}`,
          encode(storageCodecs(this.kinds).storeAns, ans),
        );
      }
    }
    if (deferred) throw deferred;

    let newTotal = this.totalBytes;
    for (const [kind, slot] of staged) newTotal += slot.bytes - (committed?.kinds.get(kind)?.bytes ?? 0);
    if (newTotal > this.maxBytes && newTotal > this.totalBytes) {
      throw ReloadError.dataTooLarge(`storing would hold ${newTotal} bytes, more than this peer's ${this.maxBytes}`);
    }

    // Commit. Generation counters (RFC 6940 §7.4.1.3): an original store that changes data
    // adds 1 per Kind; a replica store copies the counter.
    for (const kd of req.kindData) {
      const slot = staged.get(kd.kind)!;
      if (replica) slot.generation = kd.generationCounter;
      else if (kd.values.length > 0) slot.generation += 1n;
    }
    const resource: Resource = committed ?? { id: new Uint8Array(req.resource), kinds: new Map() };
    for (const [kind, slot] of staged) {
      if (slotCount(slot) > 0) resource.kinds.set(kind, slot);
      else resource.kinds.delete(kind);
    }
    if (resource.kinds.size > 0) this.byId.set(key, resource);
    else this.byId.delete(key);
    this.totalBytes = newTotal;
    this.armSweep();

    const answer: StoreAns = {
      kindResponses: req.kindData.map((kd) => ({
        kind: kd.kind,
        generationCounter: resource.kinds.get(kd.kind)?.generation ?? staged.get(kd.kind)!.generation,
        replicas: ctx.replicas.map((r) => new Uint8Array(r)),
      })),
    };
    return { answer, valuesWritten };
  }

  // ---------------------------------------------------------------------------------------
  // Fetch (RFC 6940 §7.4.2)

  /**
   * Answers a FetchReq: one FetchKindResponse per specifier, in request order. A specifier
   * whose generation equals the stored counter gets its Kind with no values. Values the
   * peer does not hold are synthesized as exists = false, storage_time 0, lifetime 0, with
   * the UNSIGNED signature (identity none, algorithm {0,0}). Held values carry their
   * remaining lifetime. `certificates` are the DER certificates of every returned value's
   * signer, for the answer's SecurityBlock (RFC 6940 §6.3.4).
   */
  fetch(req: FetchReq): { answer: FetchAns; certificates: Uint8Array[] } {
    const now = this.clock.now();
    this.checkSpecifiers(req.specifiers);
    const resource = this.byId.get(toHex(req.resource));
    const certs = new CertificateCollector();
    const kindResponses: FetchKindResponse[] = [];
    for (const spec of req.specifiers) {
      const slot = resource?.kinds.get(spec.kind);
      const generation = slot?.generation ?? 0n;
      const values: StoredData[] = [];
      if (spec.generation === 0n || spec.generation !== generation) {
        for (const s of this.select(slot, spec, now, true)) {
          if ('entry' in s) {
            const d = s.entry.data;
            values.push({ storageTime: d.storageTime, lifetime: remainingSeconds(s.entry, now), value: d.value, signature: d.signature });
            certs.add(s.entry.signer);
          } else {
            values.push({ storageTime: 0n, lifetime: 0, value: s.missing, signature: UNSIGNED });
          }
        }
      }
      kindResponses.push({ kind: spec.kind, generation, values });
    }
    return { answer: { kindResponses }, certificates: certs.list() };
  }

  // ---------------------------------------------------------------------------------------
  // Stat (RFC 6940 §7.4.3)

  /**
   * Answers a StatReq with the metadata of the values held (nothing is synthesized): exists,
   * value length, SHA-256 of DataValue.value including its 4-byte length prefix,
   * storage_time and remaining lifetime. Generation handling as in Fetch.
   */
  stat(req: StatReq): StatAns {
    const now = this.clock.now();
    this.checkSpecifiers(req.specifiers);
    const resource = this.byId.get(toHex(req.resource));
    const kindResponses: StatKindResponse[] = [];
    for (const spec of req.specifiers) {
      const slot = resource?.kinds.get(spec.kind);
      const generation = slot?.generation ?? 0n;
      const values: StoredMetaData[] = [];
      if (spec.generation === 0n || spec.generation !== generation) {
        for (const s of this.select(slot, spec, now, false)) {
          if ('entry' in s) values.push(metaDataOf(s.entry, now));
        }
      }
      kindResponses.push({ kind: spec.kind, generation, values });
    }
    return { kindResponses };
  }

  // ---------------------------------------------------------------------------------------
  // Find (RFC 6940 §7.4.4)

  /**
   * For each requested Kind, the Resource-ID closest to the requested one at or after it in
   * ring order (wrapping past the top) among the resources this peer holds an existing
   * (exists = true) value of that Kind for, restricted to those `inRange` accepts (the
   * peer's responsible range). Unknown Kinds, and Kinds with nothing found, get an all-zero
   * Resource-ID of NodeIdLength bytes (UNCONFIRMED encoding of "0", rfc6940-wire.md §6.5).
   * The caller answers Error_Not_Found itself when it is not responsible for req.resource.
   */
  find(req: FindReq, inRange: (resourceId: Uint8Array) => boolean): FindAns {
    const now = this.clock.now();
    const seen = new Set<number>();
    for (const k of req.kinds) {
      if (seen.has(k)) throw ReloadError.invalidMessage(`Kind ${k} appears twice in the FindReq`);
      seen.add(k);
    }
    const zero = new Uint8Array(this.nodeIdLength);
    const results = req.kinds.map((kind) => {
      if (!this.kinds.has(kind)) return { kind, closest: zero };
      let best: Uint8Array | undefined;
      let bestWraps = true;
      for (const r of this.byId.values()) {
        const slot = r.kinds.get(kind);
        if (!slot || !slotHasExisting(slot, now) || !inRange(r.id)) continue;
        const wraps = compareIds(r.id, req.resource) < 0;
        if (best === undefined || (bestWraps && !wraps) || (bestWraps === wraps && compareIds(r.id, best) < 0)) {
          best = r.id;
          bestWraps = wraps;
        }
      }
      return { kind, closest: best ? new Uint8Array(best) : zero };
    });
    return { results };
  }

  // ---------------------------------------------------------------------------------------
  // Replication and migration (RFC 6940 §7.4.1.3, §10.7; behaviour digest §3.6, §7.6)

  /** Resource-IDs holding at least one value (a snapshot; safe to drop while iterating). */
  resources(): Uint8Array[] {
    return [...this.byId.values()].map((r) => new Uint8Array(r.id));
  }

  /**
   * A resource's data for a replica or migration StoreReq (empty when nothing is held): one
   * StoreKindData per Kind with its generation counter and the original StoredData
   * (signatures intact, array entries with their real index), each lifetime reduced by the
   * time held (RFC 6940 §7.4.1.3); values with less than one second left are left out.
   * The receiving peer verifies every value, so the StoreReq's SecurityBlock must carry the
   * signers' certificates: {@link signerCertificates}.
   */
  exportResource(resourceId: Uint8Array, now: number = this.clock.now()): StoreKindData[] {
    return this.exportWithCertificates(resourceId, now)?.kindData ?? [];
  }

  /** The DER certificates of the signers of a resource's live values (for a re-store). */
  signerCertificates(resourceId: Uint8Array, now: number = this.clock.now()): Uint8Array[] {
    return this.exportWithCertificates(resourceId, now)?.certificates ?? [];
  }

  /** {@link exportResource} and {@link signerCertificates} in one pass; undefined when nothing is held. */
  exportWithCertificates(resourceId: Uint8Array, now: number = this.clock.now()): ResourceExport | undefined {
    const r = this.byId.get(toHex(resourceId));
    if (!r) return undefined;
    const certs = new CertificateCollector();
    const kindData: StoreKindData[] = [];
    for (const kind of [...r.kinds.keys()].sort((a, b) => a - b)) {
      const slot = r.kinds.get(kind)!;
      const values: StoredData[] = [];
      for (const e of slotEntries(slot)) {
        const lifetime = remainingSeconds(e, now);
        if (lifetime <= 0) continue;
        values.push({ storageTime: e.data.storageTime, lifetime, value: e.data.value, signature: e.data.signature });
        certs.add(e.signer);
      }
      if (values.length > 0) kindData.push({ kind, generationCounter: slot.generation, values });
    }
    if (kindData.length === 0) return undefined;
    return { resourceId: new Uint8Array(r.id), kindData, certificates: certs.list() };
  }

  /** Forgets everything held for a Resource-ID; returns whether anything was held. */
  dropResource(resourceId: Uint8Array): boolean {
    const key = toHex(resourceId);
    const r = this.byId.get(key);
    if (!r) return false;
    for (const slot of r.kinds.values()) this.totalBytes -= slot.bytes;
    this.byId.delete(key);
    return true;
  }

  statsFor(resourceId: Uint8Array): ResourceStats | undefined {
    const r = this.byId.get(toHex(resourceId));
    if (!r) return undefined;
    let values = 0;
    let bytes = 0;
    for (const slot of r.kinds.values()) {
      values += slotCount(slot);
      bytes += slot.bytes;
    }
    return { kinds: r.kinds.size, values, bytes };
  }

  /**
   * What is held per Kind, ascending Kind-ID: Resource-IDs with values of the Kind, values
   * and bytes (the status page; RFC 7851 INSTANCES_STORED).
   */
  statsByKind(): { kind: number; resources: number; values: number; bytes: number }[] {
    const byKind = new Map<number, { kind: number; resources: number; values: number; bytes: number }>();
    for (const r of this.byId.values()) {
      for (const slot of r.kinds.values()) {
        let k = byKind.get(slot.kind);
        if (!k) byKind.set(slot.kind, (k = { kind: slot.kind, resources: 0, values: 0, bytes: 0 }));
        k.resources++;
        k.values += slotCount(slot);
        k.bytes += slot.bytes;
      }
    }
    return [...byKind.values()].sort((a, b) => a.kind - b.kind);
  }

  /** Number of Resource-IDs held (ProbeInformation num_resources, RFC 6940 §6.4.2.5). */
  numResources(): number {
    return this.byId.size;
  }

  /** Bytes of stored values held (sum of their encoded StoredData). */
  storedBytes(): number {
    return this.totalBytes;
  }

  /** A read-only view of a resource's live values (for usages and diagnostics). */
  resourceView(resourceId: Uint8Array): ResourceView {
    return this.view(resourceId, this.byId.get(toHex(resourceId)), new Map(), this.clock.now());
  }

  // ---------------------------------------------------------------------------------------
  // Expiry (RFC 6940 §7.2: lifetime counted from receipt; expired values are removed)

  /** Removes expired values now; returns how many were removed. */
  sweep(now: number = this.clock.now()): number {
    let removed = 0;
    for (const [key, r] of this.byId) {
      for (const [kind, slot] of r.kinds) {
        const before = slot.bytes;
        removed += purgeExpired(slot, now);
        this.totalBytes -= before - slot.bytes;
        if (slotCount(slot) === 0) r.kinds.delete(kind);
      }
      if (r.kinds.size === 0) this.byId.delete(key);
    }
    return removed;
  }

  /** Re-enables the sweep timer after {@link stop}. */
  start(): void {
    this.stopped = false;
    this.armSweep();
  }

  /** Cancels the sweep timer (stored data stays; reads still ignore expired values). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private armSweep(): void {
    if (this.timer || this.stopped || this.byId.size === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      this.armSweep();
    }, this.sweepIntervalMs);
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private checkKnownKinds(kinds: number[]): void {
    const unknown: number[] = [];
    for (const k of kinds) if (!this.kinds.has(k) && !unknown.includes(k)) unknown.push(k);
    if (unknown.length === 0) return;
    // RFC 6940 §7.4.1.1 step 2: error_info = KindId unknown_kinds<0..2^8-1> (at most 63).
    throw new ReloadError(ErrorCode.unknownKind, `unknown Kind(s) ${unknown.join(', ')}`, encode(unknownKinds, unknown.slice(0, 63)));
  }

  private checkSpecifiers(specs: readonly StoredDataSpecifier[]): void {
    this.checkKnownKinds(specs.map((s) => s.kind));
    for (const s of specs) {
      const model = this.kinds.dataModel(s.kind);
      if (s.model !== model) throw ReloadError.invalidMessage(`Kind ${s.kind} is ${model}; the specifier is ${s.model}`);
    }
  }

  /** The values a specifier selects (RFC 6940 §7.4.2.1), with gaps when `synthesize`. */
  private select(held: KindSlot | undefined, spec: StoredDataSpecifier, now: number, synthesize: boolean): Selected[] {
    // Values stored under another data model (the Kind was redefined) are not this Kind's.
    const slot = held?.model === spec.model ? held : undefined;
    const live = (e: Entry | undefined) => (e && e.expiresAt > now ? e : undefined);
    switch (spec.model) {
      case 'single': {
        const e = live(slot?.single);
        if (e) return [{ entry: e }];
        return synthesize ? [{ missing: { model: 'single', value: nonexistent() } }] : [];
      }
      case 'dictionary': {
        if (spec.keys.length === 0) {
          return slot ? sortedDict(slot, now).map((entry) => ({ entry })) : [];
        }
        const out: Selected[] = [];
        const done = new Set<string>();
        for (const k of spec.keys) {
          const hex = toHex(k);
          if (done.has(hex)) continue;
          done.add(hex);
          const e = live(slot?.dict.get(hex));
          if (e) out.push({ entry: e });
          else if (synthesize) out.push({ missing: { model: 'dictionary', key: new Uint8Array(k), value: nonexistent() } });
        }
        return out;
      }
      case 'array':
        return this.selectArray(slot, spec.indices, now, synthesize);
      case 'unknown':
        return [];
    }
  }

  private selectArray(slot: KindSlot | undefined, ranges: readonly { first: number; last: number }[], now: number, synthesize: boolean): Selected[] {
    if (!slot) return [];
    const held = new Map<number, Entry>();
    let end = 0;
    for (const [i, e] of slot.array) {
      if (e.expiresAt <= now) continue;
      held.set(i, e);
      if (i + 1 > end) end = i + 1;
    }
    if (end === 0) return [];
    // 0xFFFFFFFF names the last element (RFC 6940 §7.4.2.1); nothing lies past the end.
    const intervals: [number, number][] = [];
    for (const r of ranges) {
      const first = r.first === ARRAY_INDEX_LAST ? end - 1 : r.first;
      const last = Math.min(r.last === ARRAY_INDEX_LAST ? end - 1 : r.last, end - 1);
      if (first <= last) intervals.push([first, last]);
    }
    intervals.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const iv of intervals) {
      const top = merged[merged.length - 1];
      if (top && iv[0] <= top[1] + 1) top[1] = Math.max(top[1], iv[1]);
      else merged.push([iv[0], iv[1]]);
    }
    const inRanges = [...held.keys()].filter((i) => merged.some(([a, b]) => i >= a && i <= b)).sort((a, b) => a - b);
    let span = 0;
    for (const [a, b] of merged) span += b - a + 1;
    const gaps = span - inRanges.length;
    if (!synthesize || gaps === 0 || gaps > this.maxSynthesized) return inRanges.map((i) => ({ entry: held.get(i)! }));
    // Gaps inside the array are non-existent values (RFC 6940 §7.2.2), returned unsigned.
    const out: Selected[] = [];
    for (const [a, b] of merged) {
      for (let i = a; i <= b; i++) {
        const e = held.get(i);
        out.push(e ? { entry: e } : { missing: { model: 'array', index: i, value: nonexistent() } });
      }
    }
    return out;
  }

  private view(resourceId: Uint8Array, committed: Resource | undefined, staged: Map<number, KindSlot>, now: number): ResourceView {
    const slotOf = (kind: number) => staged.get(kind) ?? committed?.kinds.get(kind);
    const asView = (kind: number, e: Entry | undefined): StoredValueView | undefined =>
      e && e.expiresAt > now ? { kind, data: e.data, signer: e.signer } : undefined;
    const values = (kind: number): StoredValueView[] => {
      const slot = slotOf(kind);
      if (!slot) return [];
      const list =
        slot.model === 'single'
          ? [slot.single]
          : slot.model === 'array'
            ? [...slot.array.keys()].sort((a, b) => a - b).map((i) => slot.array.get(i))
            : sortedDict(slot, now);
      return list.map((e) => asView(kind, e)).filter((v): v is StoredValueView => v !== undefined);
    };
    return {
      resourceId,
      kinds: () => {
        const ks = new Set<number>([...(committed?.kinds.keys() ?? []), ...staged.keys()]);
        return [...ks].filter((k) => values(k).length > 0).sort((a, b) => a - b);
      },
      values,
      single: (kind) => asView(kind, slotOf(kind)?.single),
      arrayEntry: (kind, index) => asView(kind, slotOf(kind)?.array.get(index)),
      dictionaryEntry: (kind, key) => asView(kind, slotOf(kind)?.dict.get(toHex(key))),
    };
  }
}

// -----------------------------------------------------------------------------------------
// Plugin hooks: a plugin's stray exception becomes a typed refusal, never a crash.

function runPolicy(policy: AccessPolicy, args: PolicyCheck): void {
  try {
    policy.check(args);
  } catch (err) {
    if (err instanceof ReloadError) throw err;
    throw new ReloadError(ErrorCode.forbidden, `Kind ${args.kind.id}: policy ${policy.name} failed: ${(err as Error)?.message ?? err}`, undefined, { cause: err });
  }
}

function runValidation(def: KindDefinition, value: StoredDataValue, ctx: ValueCheck): void {
  try {
    def.validate!(value, ctx);
  } catch (err) {
    if (err instanceof ReloadError) throw err;
    throw new ReloadError(ErrorCode.invalidMessage, `Kind ${def.id}: value refused: ${(err as Error)?.message ?? err}`, undefined, { cause: err });
  }
}

// -----------------------------------------------------------------------------------------
// Slots

function newSlot(def: KindDefinition): KindSlot {
  return { kind: def.id, model: def.dataModel, generation: 0n, single: undefined, array: new Map(), dict: new Map(), bytes: 0 };
}

/**
 * A copy of a slot without its expired values (staging area of a Store). Values stored under
 * another data model (the Kind was redefined by a new configuration) are not carried over.
 */
function cloneLive(slot: KindSlot | undefined, def: KindDefinition, now: number): KindSlot {
  const c = newSlot(def);
  if (!slot) return c;
  c.generation = slot.generation;
  if (slot.model !== def.dataModel) return c;
  const keep = (e: Entry | undefined) => e !== undefined && e.expiresAt > now;
  if (keep(slot.single)) slotPut(c, slot.single!);
  for (const e of slot.array.values()) if (keep(e)) slotPut(c, e);
  for (const e of slot.dict.values()) if (keep(e)) slotPut(c, e);
  return c;
}

function slotEntries(slot: KindSlot): Entry[] {
  const out: Entry[] = [];
  if (slot.single) out.push(slot.single);
  for (const i of [...slot.array.keys()].sort((a, b) => a - b)) out.push(slot.array.get(i)!);
  for (const k of [...slot.dict.keys()].sort()) out.push(slot.dict.get(k)!);
  return out;
}

function slotCount(slot: KindSlot): number {
  return (slot.single ? 1 : 0) + slot.array.size + slot.dict.size;
}

function slotHasExisting(slot: KindSlot, now: number): boolean {
  return slotEntries(slot).some((e) => e.expiresAt > now && e.data.value.value.exists);
}

function sortedDict(slot: KindSlot, now: number): Entry[] {
  // Hex order of the keys is their byte order.
  return [...slot.dict.keys()]
    .sort()
    .map((k) => slot.dict.get(k)!)
    .filter((e) => e.expiresAt > now);
}

function slotGet(slot: KindSlot, v: StoredDataValue): Entry | undefined {
  switch (v.model) {
    case 'single':
      return slot.single;
    case 'array':
      return slot.array.get(v.index);
    case 'dictionary':
      return slot.dict.get(toHex(v.key));
  }
}

function slotPut(slot: KindSlot, e: Entry): void {
  const v = e.data.value;
  const old = slotGet(slot, v);
  if (old) slot.bytes -= old.bytes;
  slot.bytes += e.bytes;
  switch (v.model) {
    case 'single':
      slot.single = e;
      return;
    case 'array':
      slot.array.set(v.index, e);
      return;
    case 'dictionary':
      slot.dict.set(toHex(v.key), e);
      return;
  }
}

function purgeExpired(slot: KindSlot, now: number): number {
  let n = 0;
  if (slot.single && slot.single.expiresAt <= now) {
    slot.bytes -= slot.single.bytes;
    slot.single = undefined;
    n++;
  }
  for (const map of [slot.array, slot.dict] as Map<unknown, Entry>[]) {
    for (const [k, e] of map) {
      if (e.expiresAt > now) continue;
      slot.bytes -= e.bytes;
      map.delete(k);
      n++;
    }
  }
  return n;
}

/**
 * An array store at 0xFFFFFFFF appends (RFC 6940 §7.2.2): the entry gets the index after the
 * highest one held (the staged slot already holds this request's earlier appends).
 */
function resolveIndex(v: StoredDataValue, slot: KindSlot): StoredDataValue {
  if (v.model !== 'array' || v.index !== ARRAY_INDEX_LAST) return v;
  let end = 0;
  for (const i of slot.array.keys()) if (i + 1 > end) end = i + 1;
  if (end >= ARRAY_INDEX_LAST) throw ReloadError.dataTooLarge('array is full: no index left to append at');
  return { ...v, index: end };
}

// -----------------------------------------------------------------------------------------
// Values

function nonexistent(): DataValue {
  return { exists: false, value: EMPTY };
}

function storedDataBytes(d: KnownStoredData): number {
  return 4 + 12 + storedDataValue.size(d.value) + signatureCodec.size(d.signature);
}

/** Remaining lifetime in whole seconds (rounded down: never extends a value's life). */
function remainingSeconds(e: Entry, now: number): number {
  return Math.max(0, Math.floor((e.expiresAt - now) / 1000));
}

/**
 * A deep copy (decoded fields are views into the received message buffer, which must not be
 * retained or shared), with the value replaced by `value` (the resolved array index).
 */
function copyStoredData(d: KnownStoredData, value: StoredDataValue): KnownStoredData {
  const dv = { exists: value.value.exists, value: new Uint8Array(value.value.value) };
  let v: StoredDataValue;
  switch (value.model) {
    case 'single':
      v = { model: 'single', value: dv };
      break;
    case 'array':
      v = { model: 'array', index: value.index, value: dv };
      break;
    case 'dictionary':
      v = { model: 'dictionary', key: new Uint8Array(value.key), value: dv };
      break;
  }
  return { storageTime: d.storageTime, lifetime: d.lifetime, value: v, signature: copySignature(d.signature) };
}

function copySignature(s: Signature): Signature {
  let identity: SignerIdentity;
  switch (s.identity.type) {
    case 'cert_hash':
    case 'cert_hash_node_id':
      identity = { type: s.identity.type, hashAlg: s.identity.hashAlg, hash: new Uint8Array(s.identity.hash) };
      break;
    case 'none':
      identity = { type: 'none' };
      break;
    case 'unknown':
      identity = { type: 'unknown', code: s.identity.code, value: new Uint8Array(s.identity.value) };
      break;
  }
  return { hashAlg: s.hashAlg, sigAlg: s.sigAlg, identity, value: new Uint8Array(s.value) };
}

/** Same storage_time, value and signature: the same signed value. */
function sameStoredValue(a: KnownStoredData, b: KnownStoredData): boolean {
  return a.storageTime === b.storageTime && bytesEqual(valueAndSignatureBytes(a), valueAndSignatureBytes(b));
}

function valueAndSignatureBytes(d: KnownStoredData): Uint8Array {
  const w = new Writer(new Uint8Array(storedDataValue.size(d.value) + signatureCodec.size(d.signature)));
  storedDataValue.encode(w, d.value);
  signatureCodec.encode(w, d.signature);
  return w.buf;
}

/** StoredMetaData of a held value (RFC 6940 §7.4.3.2). */
function metaDataOf(e: Entry, now: number): StoredMetaData {
  const dv = e.data.value.value;
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(dv.value.length);
  // The digest covers DataValue.value including its 4-byte length prefix.
  const hashValue = new Uint8Array(createHash('sha256').update(prefix).update(dv.value).digest());
  const metadata = { exists: dv.exists, valueLength: dv.value.length, hashAlgorithm: HashAlgorithm.sha256, hashValue };
  const v = e.data.value;
  let mv: MetaDataValue;
  switch (v.model) {
    case 'single':
      mv = { model: 'single', metadata };
      break;
    case 'array':
      mv = { model: 'array', index: v.index, metadata };
      break;
    case 'dictionary':
      mv = { model: 'dictionary', key: v.key, metadata };
      break;
  }
  return { storageTime: e.data.storageTime, lifetime: remainingSeconds(e, now), metadata: mv };
}

/** Distinct signer certificates (DER), in first-seen order. */
class CertificateCollector {
  private readonly seen = new Map<string, Uint8Array>();
  add(signer: SignerInfo): void {
    const key = toHex(signer.certificate.sha256);
    if (!this.seen.has(key)) this.seen.set(key, signer.certificate.der);
  }
  list(): Uint8Array[] {
    return [...this.seen.values()];
  }
}
