/**
 * A capability directory: peers advertise that they offer a capability (e.g. acting as a
 * conference focus), and anyone can ask for the advertising peers closest in ID space to a
 * given Node-ID. With landmark-aware Node-IDs (./binning.ts) "close in ID" means "close in
 * the network", so the conference usage uses this to pick a secondary focus near a new
 * participant. Built only on the usage plugin API (src/node/usage.ts): Store and Stat of one
 * dictionary Kind.
 *
 * Layout — prefix buckets at several depths: for each depth d of {@link
 * CapabilityDirectoryOptions.depths} (default 4, 8, …, 48 bits), the peers whose Node-IDs
 * share their top d bits share one Resource, named
 *
 *     reload-node:capability:<capability>:<d>:<the top d bits, hex>
 *
 * holding a dictionary entry per advertising peer, keyed by its Node-ID. A peer advertises
 * at every depth (one Store per depth, soft state refreshed before its lifetime ends). The
 * CAPABILITY-NODE-MATCH policy lets a peer write only its own Node-ID's entry, and only at
 * the Resource its Node-ID and the value's (capability, depth) name.
 *
 * Query for the k advertisers nearest to a Node-ID q: buckets holding q get smaller with
 * depth, so the number of advertisers in them never grows with depth; a binary search over
 * the depths (Stat only: Node-IDs without values or certificates, so answers stay small)
 * finds the deepest bucket with at least k entries, whose entries are the candidates. If q
 * is closer to that bucket's edge than the k-th candidate, the adjacent bucket on that side
 * is read too, which makes the answer exact. Cost: about log2(depths) + 2 Stats, whatever the
 * number of peers. Limit: a bucket holds at most `maxPerBucket` entries (the Kind's
 * max-count); in a full bucket the answer is the nearest of those it holds.
 */
import { ReloadError } from '../../src/common/errors.js';
import type { TimerHandle } from '../../src/common/clock.js';
import type { UsageApi, UsagePlugin } from '../../src/node/usage.js';
import type { AccessPolicy } from '../../src/storage/policies.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import { DecodeError, Reader, Writer, bytesEqual, fromUtf8, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import type { StatAns } from '../../src/wire/storage.js';

/** Kind-ID of capability advertisements (private-use range). */
export const CAPABILITY_KIND = 0xf0051002;
/** Its access-control policy (this project's; not in the IANA registry). */
export const CAPABILITY_POLICY_NAME = 'CAPABILITY-NODE-MATCH';
/** Default bucket depths, bits. */
export const DEFAULT_CAPABILITY_DEPTHS: readonly number[] = Object.freeze([4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]);
/** Default most advertisements in one bucket (the Kind's max-count; a Stat answer of 48 stays under 5000 bytes). */
export const DEFAULT_MAX_PER_BUCKET = 48;
/** Default lifetime of an advertisement, s (refreshed at 90 %). */
export const DEFAULT_ADVERTISEMENT_LIFETIME_S = 3600;

const VALUE_VERSION = 1;

/** An advertisement value: the capability, the bucket depth it was stored at, opaque data. */
export interface Advertisement {
  capability: string;
  depth: number;
  /** Application data (e.g. the advertiser's landmark bin, contact hints). */
  data: Uint8Array;
}

export function encodeAdvertisement(a: Advertisement): Uint8Array {
  const cap = utf8(a.capability);
  if (cap.length < 1 || cap.length > 255) throw new RangeError('capability name must be 1..255 bytes');
  if (!Number.isInteger(a.depth) || a.depth < 1 || a.depth > 255) throw new RangeError('depth must be 1..255');
  if (a.data.length > 0xffff) throw new RangeError('advertisement data too long');
  const w = new Writer(new Uint8Array(1 + 1 + cap.length + 1 + 2 + a.data.length));
  w.u8(VALUE_VERSION);
  w.u8(cap.length);
  w.bytes(cap);
  w.u8(a.depth);
  w.u16(a.data.length);
  w.bytes(a.data);
  return w.buf;
}

/** Decodes an advertisement; throws DecodeError on malformed bytes. */
export function decodeAdvertisement(bytes: Uint8Array): Advertisement {
  const S = 'CapabilityAdvertisement';
  const r = new Reader(bytes);
  const version = r.u8(S, 'version');
  if (version !== VALUE_VERSION) throw new DecodeError(S, 'version', 'value', 0, `unknown version ${version}`);
  const capability = fromUtf8(r.opaque(1, S, 'capability'));
  const depth = r.u8(S, 'depth');
  const data = r.opaque(2, S, 'data');
  r.done(S);
  return { capability, depth, data: new Uint8Array(data) };
}

/** The top `depth` bits of an id as hex (bits beyond `depth` in the last digit zeroed). */
export function bucketPrefix(id: Uint8Array, depth: number): string {
  if (!Number.isInteger(depth) || depth < 1 || depth > id.length * 8) throw new RangeError(`depth ${depth} out of range`);
  const digits = Math.ceil(depth / 4);
  const hex = toHex(id).slice(0, digits);
  const spare = digits * 4 - depth;
  if (spare === 0) return hex;
  const last = parseInt(hex[digits - 1]!, 16) & ~((1 << spare) - 1);
  return hex.slice(0, -1) + last.toString(16);
}

/** The Resource Name of the bucket holding `id` at `depth` for `capability`. */
export function bucketName(capability: string, depth: number, id: Uint8Array): string {
  return `reload-node:capability:${capability}:${depth}:${bucketPrefix(id, depth)}`;
}

/**
 * CAPABILITY-NODE-MATCH: dictionary Kinds only; the key must be the signer's Node-ID and,
 * for an existing value, the Resource-ID must be Hash(bucketName(capability, depth, key))
 * for the (capability, depth) the value names. Deleting (exists = false) needs the key only.
 */
export const CAPABILITY_NODE_MATCH: AccessPolicy = {
  name: CAPABILITY_POLICY_NAME,
  validateKind(kind) {
    if (kind.dataModel !== 'dictionary') throw new Error(`applies to dictionary Kinds only, not ${kind.dataModel}`);
  },
  check(c) {
    if (c.value.model !== 'dictionary') throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: value is not a dictionary entry`);
    const id = c.signer.nodeId;
    if (!c.signer.certificate.nodeIds.some((n) => bytesEqual(n, id))) throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: Node-ID not in the certificate`);
    if (!bytesEqual(c.value.key, id)) {
      throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: key ${toHex(c.value.key)} is not the signer's Node-ID ${toHex(id)}`);
    }
    if (!c.value.value.exists) return;
    let ad: Advertisement;
    try {
      ad = decodeAdvertisement(c.value.value.value);
    } catch (err) {
      throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: malformed advertisement (${(err as Error).message})`);
    }
    if (ad.depth > id.length * 8) throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: depth ${ad.depth} too deep`);
    if (!bytesEqual(c.hash(utf8(bucketName(ad.capability, ad.depth, id))), c.resourceId)) {
      throw ReloadError.forbidden(`${CAPABILITY_POLICY_NAME}: Resource-ID is not the bucket of this Node-ID for ${JSON.stringify(ad.capability)} at depth ${ad.depth}`);
    }
  },
};

export interface CapabilityDirectoryOptions {
  /** Capabilities this peer advertises once started (data: optional application bytes). */
  advertise?: { capability: string; data?: Uint8Array }[];
  /** Bucket depths in bits, increasing. @default DEFAULT_CAPABILITY_DEPTHS */
  depths?: readonly number[];
  /** Advertisement lifetime, s (refreshed at 90 %). @default 3600 */
  lifetimeS?: number;
  /** Most entries per bucket (Kind max-count). Every peer of an overlay must agree. @default 48 */
  maxPerBucket?: number;
}

/** One answer of {@link CapabilityDirectory.nearest}. */
export interface CapabilityMatch {
  nodeId: Uint8Array;
  /** Ring distance to the target (the shorter way round). */
  distance: bigint;
}

/** Shorter-way-round distance between two ids of equal length. */
export function ringDistance(a: Uint8Array, b: Uint8Array): bigint {
  const x = BigInt(`0x${toHex(a) || '0'}`);
  const y = BigInt(`0x${toHex(b) || '0'}`);
  const size = 1n << BigInt(a.length * 8);
  const d = (((x - y) % size) + size) % size;
  return d < size - d ? d : size - d;
}

/** The capability directory usage (one instance per node). */
export class CapabilityDirectory implements UsagePlugin {
  readonly name = 'capability-directory';
  readonly policies = [CAPABILITY_NODE_MATCH];
  readonly kinds: readonly Omit<KindDefinition, 'source'>[];
  readonly depths: readonly number[];
  private api: UsageApi | undefined;
  private readonly lifetimeS: number;
  private readonly maxPerBucket: number;
  private readonly advertised = new Map<string, { data: Uint8Array; timer: TimerHandle | undefined }>();
  /** Stat requests sent by nearest() so far (cost accounting). */
  stats = { queries: 0, statRequests: 0 };

  constructor(readonly options: CapabilityDirectoryOptions = {}) {
    this.depths = [...(options.depths ?? DEFAULT_CAPABILITY_DEPTHS)];
    if (this.depths.length === 0 || this.depths.some((d, i) => !Number.isInteger(d) || d < 1 || d > 160 || (i > 0 && d <= this.depths[i - 1]!))) {
      throw new RangeError('depths must be increasing integers in 1..160');
    }
    this.lifetimeS = options.lifetimeS ?? DEFAULT_ADVERTISEMENT_LIFETIME_S;
    this.maxPerBucket = options.maxPerBucket ?? DEFAULT_MAX_PER_BUCKET;
    this.kinds = [
      {
        id: CAPABILITY_KIND,
        name: 'capability-advertisement',
        dataModel: 'dictionary',
        accessControl: CAPABILITY_POLICY_NAME,
        maxCount: this.maxPerBucket,
        maxSize: 512,
      },
    ];
  }

  async start(api: UsageApi): Promise<void> {
    this.api = api;
    for (const a of this.options.advertise ?? []) await this.advertise(a.capability, a.data);
  }

  async stop(): Promise<void> {
    for (const a of this.advertised.values()) a.timer?.cancel();
    this.advertised.clear();
    this.api = undefined;
  }

  private need(): UsageApi {
    if (!this.api) throw new ReloadError(ErrorCode.notFound, 'capability directory is not started');
    return this.api;
  }

  /** Advertises `capability` for this node at every depth (and keeps it refreshed). */
  async advertise(capability: string, data: Uint8Array = new Uint8Array(0)): Promise<void> {
    const api = this.need();
    const prev = this.advertised.get(capability);
    prev?.timer?.cancel();
    const entry = { data, timer: undefined as TimerHandle | undefined };
    this.advertised.set(capability, entry);
    // A full bucket (max-count reached: the storing peer answers Error_Data_Too_Large, RFC
    // 6940 §7.4.1.2) keeps the advertisers it has — the documented limit; the deeper,
    // smaller buckets still list this node. Only when no depth takes it is it an error.
    // Clustered Node-IDs (landmark prefixes) fill shallow buckets quickly.
    let full: unknown;
    let placed = 0;
    await Promise.all(
      this.depths.map((depth) =>
        this.storeAt(api, capability, depth, data, true).then(
          () => void placed++,
          (err: unknown) => {
            if (!(err instanceof ReloadError && err.errorCode === ErrorCode.dataTooLarge)) throw err;
            full = err;
          },
        ),
      ),
    );
    if (placed === 0 && full !== undefined) throw full;
    if (this.advertised.get(capability) === entry) {
      entry.timer = api.clock.setTimeout(() => {
        if (this.advertised.get(capability) === entry) void this.advertise(capability, data).catch(() => undefined);
      }, Math.floor(this.lifetimeS * 900));
    }
  }

  /** Removes this node's advertisements of `capability` (exists = false at every depth). */
  async withdraw(capability: string): Promise<void> {
    const api = this.need();
    this.advertised.get(capability)?.timer?.cancel();
    this.advertised.delete(capability);
    await Promise.all(this.depths.map((depth) => this.storeAt(api, capability, depth, new Uint8Array(0), false)));
  }

  private async storeAt(api: UsageApi, capability: string, depth: number, data: Uint8Array, exists: boolean): Promise<void> {
    const value = exists ? encodeAdvertisement({ capability, depth, data }) : new Uint8Array(0);
    await api.store(bucketName(capability, depth, api.nodeId), CAPABILITY_KIND, [{ model: 'dictionary', key: api.nodeId, value, exists }], {
      lifetimeS: this.lifetimeS,
    });
  }

  /** Node-IDs advertised (and not expired) in the bucket at `depth` that holds `idInBucket`. */
  private async bucket(capability: string, depth: number, idInBucket: Uint8Array): Promise<Uint8Array[]> {
    const api = this.need();
    this.stats.statRequests++;
    let ans: StatAns;
    try {
      // A dictionary specifier without keys: every entry (RFC 6940 §7.4.2.1).
      ans = await api.stat(bucketName(capability, depth, idInBucket), CAPABILITY_KIND);
    } catch (err) {
      if (err instanceof ReloadError && err.errorCode === ErrorCode.notFound) return [];
      throw err;
    }
    const out: Uint8Array[] = [];
    for (const k of ans.kindResponses) {
      if (k.kind !== CAPABILITY_KIND) continue;
      for (const v of k.values) {
        if (v.metadata.model === 'dictionary' && v.metadata.metadata.exists && v.lifetime > 0) out.push(v.metadata.key);
      }
    }
    return out;
  }

  /**
   * The `k` peers advertising `capability` nearest to `target` in ID space (ring distance,
   * either way round), nearest first; fewer if fewer advertise. `exclude` drops given
   * Node-IDs (e.g. the caller itself) before choosing.
   */
  async nearest(capability: string, target: Uint8Array, k = 1, exclude: Uint8Array[] = []): Promise<CapabilityMatch[]> {
    if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
    this.stats.queries++;
    const excluded = new Set(exclude.map(toHex));
    const keep = (ids: Uint8Array[]): Uint8Array[] => ids.filter((id) => !excluded.has(toHex(id)));
    const cache = new Map<number, Uint8Array[]>();
    const at = async (i: number): Promise<Uint8Array[]> => {
      let v = cache.get(i);
      if (!v) cache.set(i, (v = keep(await this.bucket(capability, this.depths[i]!, target))));
      return v;
    };
    // Binary search: the deepest depth whose bucket (containing target) has ≥ k entries.
    let lo = 0;
    let hi = this.depths.length - 1;
    if ((await at(0)).length < k) {
      return this.widen(capability, target, k, await at(0), keep);
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((await at(mid)).length >= k) lo = mid;
      else hi = mid - 1;
    }
    const depth = this.depths[lo]!;
    let candidates = rank(await at(lo), target);
    // Exactness: the bucket's edges may be nearer than the k-th candidate.
    const kth = candidates[k - 1]!.distance;
    const { below, above, toLow, toHigh } = neighbours(target, depth);
    const extra: Uint8Array[] = [];
    if (toLow < kth && below) extra.push(...keep(await this.bucket(capability, depth, below)));
    if (toHigh < kth && above) extra.push(...keep(await this.bucket(capability, depth, above)));
    if (extra.length > 0) candidates = rank(dedupe([...candidates.map((c) => c.nodeId), ...extra]), target);
    return candidates.slice(0, k);
  }

  /**
   * Fewer than k advertisers share even the shallowest bucket of the target: read the other
   * shallowest buckets outward from it, alternating sides, until k are found and no
   * unread bucket can hold a nearer one.
   */
  private async widen(capability: string, target: Uint8Array, k: number, first: Uint8Array[], keep: (ids: Uint8Array[]) => Uint8Array[]): Promise<CapabilityMatch[]> {
    const depth = this.depths[0]!;
    const buckets = 2 ** depth;
    const bits = target.length * 8;
    const size = 1n << BigInt(bits);
    const width = size / BigInt(buckets);
    const t = BigInt(`0x${toHex(target)}`);
    const home = t / width;
    let found = [...first];
    for (let step = 1; step <= buckets / 2; step++) {
      const ranked = rank(found, target);
      // Any id in a bucket `step` away is at least (step - 1) widths plus the gap to our edge away.
      const bound = BigInt(step - 1) * width + minBigint(t - home * width, (home + 1n) * width - 1n - t);
      if (ranked.length >= k && ranked[k - 1]!.distance <= bound) break;
      for (const dir of step === buckets / 2 ? [1n] : [1n, -1n]) {
        const b = (((home + dir * BigInt(step)) % BigInt(buckets)) + BigInt(buckets)) % BigInt(buckets);
        found.push(...keep(await this.bucket(capability, depth, idFromBig(b * width, target.length))));
      }
      found = dedupe(found);
    }
    return rank(found, target).slice(0, k);
  }
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function idFromBig(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function dedupe(ids: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const h = toHex(id);
    if (seen.has(h)) return false;
    seen.add(h);
    return true;
  });
}

function rank(ids: Uint8Array[], target: Uint8Array): CapabilityMatch[] {
  return ids
    .map((nodeId) => ({ nodeId, distance: ringDistance(nodeId, target) }))
    .sort((a, b) => (a.distance < b.distance ? -1 : a.distance > b.distance ? 1 : toHex(a.nodeId) < toHex(b.nodeId) ? -1 : 1));
}

/**
 * The buckets at `depth` just below and above the one holding `target` (ids inside them),
 * and the distances from target to its bucket's lower and upper edges.
 */
function neighbours(target: Uint8Array, depth: number): { below: Uint8Array; above: Uint8Array; toLow: bigint; toHigh: bigint } {
  const bits = target.length * 8;
  const size = 1n << BigInt(bits);
  const width = 1n << BigInt(bits - depth);
  const t = BigInt(`0x${toHex(target)}`);
  const low = (t / width) * width;
  const high = low + width - 1n;
  return {
    below: idFromBig((low - 1n + size) % size, target.length),
    above: idFromBig((high + 1n) % size, target.length),
    // An id in the bucket below is at least (t - low) + 1 away, one above (high - t) + 1.
    toLow: t - low + 1n,
    toHigh: high - t + 1n,
  };
}
