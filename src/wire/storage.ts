/**
 * Storage structures (RFC 6940 §6.4.1 and §7): StoredData for the three data models,
 * StoreReq/Ans, FetchReq/Ans, StatReq/Ans (with StoredMetaData), FindReq/Ans.
 *
 * The data model of a Kind is not on the wire (§7.2): it comes from the WireContext. A
 * Kind whose model is unknown here keeps its value (and signature) as raw bytes, which
 * re-encode unchanged; the enclosing length fields make that possible.
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer, opaqueSize, vectorOf } from './codec.js';
import type { DataModel } from './constants.js';
import type { WireContext } from './context.js';
import { nodeIdListCodec } from './overlay.js';
import { type Signature, signature, signerIdentity } from './security-block.js';

export interface DataValue {
  exists: boolean;
  value: Uint8Array;
}

export type StoredDataValue =
  | { model: 'single'; value: DataValue }
  | { model: 'array'; index: number; value: DataValue }
  | { model: 'dictionary'; key: Uint8Array; value: DataValue };

export type StoredData =
  | { storageTime: bigint; lifetime: number; value: StoredDataValue; signature: Signature }
  /** A value of a Kind whose data model this node does not know: value || signature, raw. */
  | { storageTime: bigint; lifetime: number; value: { model: 'unknown'; raw: Uint8Array }; signature?: undefined };

export interface StoreKindData {
  kind: number;
  generationCounter: bigint;
  values: StoredData[];
}

export interface StoreReq {
  resource: Uint8Array;
  /** 0 = original store; 1, 2, ... replicas. */
  replicaNumber: number;
  kindData: StoreKindData[];
}

export interface StoreKindResponse {
  kind: number;
  generationCounter: bigint;
  replicas: Uint8Array[];
}

export interface StoreAns {
  kindResponses: StoreKindResponse[];
}

/** ArrayRange; 0xFFFFFFFF means "the last element" (§7.4.2.1). */
export interface ArrayRange {
  first: number;
  last: number;
}

export type StoredDataSpecifier =
  | { kind: number; generation: bigint; model: 'single' }
  | { kind: number; generation: bigint; model: 'array'; indices: ArrayRange[] }
  /** An empty key list fetches every key. */
  | { kind: number; generation: bigint; model: 'dictionary'; keys: Uint8Array[] }
  | { kind: number; generation: bigint; model: 'unknown'; raw: Uint8Array };

export interface FetchReq {
  resource: Uint8Array;
  specifiers: StoredDataSpecifier[];
}

export interface FetchKindResponse {
  kind: number;
  generation: bigint;
  values: StoredData[];
}

export interface FetchAns {
  kindResponses: FetchKindResponse[];
}

/** StatReq has the same form as FetchReq (§7.4.3.1). */
export type StatReq = FetchReq;

export interface MetaData {
  exists: boolean;
  valueLength: number;
  hashAlgorithm: number;
  hashValue: Uint8Array;
}

export type MetaDataValue =
  | { model: 'single'; metadata: MetaData }
  | { model: 'array'; index: number; metadata: MetaData }
  | { model: 'dictionary'; key: Uint8Array; metadata: MetaData }
  | { model: 'unknown'; raw: Uint8Array };

export interface StoredMetaData {
  storageTime: bigint;
  lifetime: number;
  metadata: MetaDataValue;
}

export interface StatKindResponse {
  kind: number;
  generation: bigint;
  values: StoredMetaData[];
}

export interface StatAns {
  kindResponses: StatKindResponse[];
}

export interface FindReq {
  resource: Uint8Array;
  kinds: number[];
}

export interface FindKindData {
  kind: number;
  closest: Uint8Array;
}

export interface FindAns {
  results: FindKindData[];
}

const SDV = 'DataValue';
export const dataValue: Codec<DataValue> = {
  name: SDV,
  size: (d) => 1 + opaqueSize(4, d.value, SDV, 'value'),
  encode(w, d) {
    w.bool(d.exists);
    w.opaque(4, d.value);
  },
  decode: (r) => ({ exists: r.bool(SDV, 'exists'), value: r.opaque(4, SDV, 'value') }),
};

/** StoredDataValue for a known data model: its size and encoding (decoding needs the model). */
export const storedDataValue = {
  size(v: StoredDataValue): number {
    switch (v.model) {
      case 'single':
        return dataValue.size(v.value);
      case 'array':
        return 4 + dataValue.size(v.value);
      case 'dictionary':
        return opaqueSize(2, v.key, 'DictionaryEntry', 'key') + dataValue.size(v.value);
    }
  },
  encode(w: Writer, v: StoredDataValue): void {
    switch (v.model) {
      case 'single':
        dataValue.encode(w, v.value);
        return;
      case 'array':
        w.u32(v.index);
        dataValue.encode(w, v.value);
        return;
      case 'dictionary':
        w.opaque(2, v.key);
        dataValue.encode(w, v.value);
        return;
    }
  },
};

export function decodeStoredDataValue(r: Reader, model: DataModel): StoredDataValue {
  switch (model) {
    case 'single':
      return { model, value: dataValue.decode(r) };
    case 'array':
      return { model, index: r.u32('ArrayEntry', 'index'), value: dataValue.decode(r) };
    case 'dictionary':
      return { model, key: r.opaque(2, 'DictionaryEntry', 'key'), value: dataValue.decode(r) };
  }
}

/**
 * The bytes a stored-data signature covers (RFC 6940 §7.1):
 * resource_id || kind || storage_time || StoredDataValue || SignerIdentity,
 * with an array entry's index set to 0.
 *
 * UNCONFIRMED in the RFC: whether resource_id carries its 1-byte length prefix. The RFC's
 * text lists "the resource ID" as a field of the signed data without a type; Wireshark does
 * not verify signatures, and no interoperable implementation settles it. We sign the raw
 * Resource-ID bytes (no prefix), as rfc6940-wire.md §4.1 recommends, and keep the choice
 * in this one function.
 */
export function storedDataSignatureInput(
  resourceId: Uint8Array,
  kind: number,
  storageTime: bigint,
  value: StoredDataValue,
  identity: Signature['identity'],
  /** Where to write it when large enough (a reused buffer); the result is then a view of it. */
  out?: Uint8Array,
): Uint8Array {
  const signed: StoredDataValue = value.model === 'array' ? { ...value, index: 0 } : value;
  const n = resourceId.length + 4 + 8 + storedDataValue.size(signed) + signerIdentity.size(identity);
  const w = new Writer(out && out.length >= n ? out : new Uint8Array(n));
  w.bytes(resourceId);
  w.u32(kind);
  w.u64(storageTime);
  storedDataValue.encode(w, signed);
  signerIdentity.encode(w, identity);
  return w.buf.length === n ? w.buf : w.buf.subarray(0, n);
}

/**
 * RFC 6940 §7.4.2.1 (rfc6940-wire.md §6.3): in each ArrayRange first <= last (0xFFFFFFFF,
 * "the last element", is the largest value), and the ranges must not overlap. Checked in
 * O(n log n) on a sorted copy: a hostile list holds up to 8191 ranges.
 */
function arrayRangeProblem(ranges: readonly ArrayRange[]): string | undefined {
  for (const r of ranges) {
    if (r.first > r.last) return `range first ${r.first} > last ${r.last}`;
  }
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.first <= sorted[i - 1]!.last) {
      return `ranges [${sorted[i - 1]!.first}, ${sorted[i - 1]!.last}] and [${sorted[i]!.first}, ${sorted[i]!.last}] overlap`;
    }
  }
  return undefined;
}

const SSD = 'StoredData';

function storedDataInnerSize(d: StoredData): number {
  if (d.value.model === 'unknown') return 12 + d.value.raw.length;
  return 12 + storedDataValue.size(d.value) + signature.size(d.signature!);
}

/** StoredData for a Kind of the given model (undefined model = keep raw). */
export function storedDataCodec(model: DataModel | undefined): Codec<StoredData> {
  return {
    name: SSD,
    size: (d) => 4 + storedDataInnerSize(d),
    encode(w, d) {
      w.u32(storedDataInnerSize(d));
      w.u64(d.storageTime);
      w.u32(d.lifetime);
      if (d.value.model === 'unknown') {
        w.bytes(d.value.raw);
      } else {
        storedDataValue.encode(w, d.value);
        signature.encode(w, d.signature!);
      }
    },
    decode(r): StoredData {
      const body = r.vector(4, SSD, 'length');
      const storageTime = body.u64(SSD, 'storage_time');
      const lifetime = body.u32(SSD, 'lifetime');
      if (model === undefined) {
        return { storageTime, lifetime, value: { model: 'unknown', raw: body.bytes(body.left, SSD, 'value') } };
      }
      const value = decodeStoredDataValue(body, model);
      const sig = signature.decode(body);
      body.done(SSD);
      return { storageTime, lifetime, value, signature: sig };
    },
  };
}

function checkKindModel(kind: number, model: DataModel | undefined, values: StoredData[], structure: string): void {
  for (const v of values) {
    if (v.value.model !== 'unknown' && model !== undefined && v.value.model !== model) {
      throw new EncodeError(structure, 'values', `Kind ${kind} is ${model}, value is ${v.value.model}`);
    }
  }
}

function storedDataListSize(ctx: WireContext, kind: number, values: StoredData[], structure: string): number {
  const c = storedDataCodec(ctx.dataModel(kind));
  checkKindModel(kind, ctx.dataModel(kind), values, structure);
  let n = 0;
  for (const v of values) n += c.size(v);
  return n;
}

function decodeStoredDataList(ctx: WireContext, kind: number, r: Reader, structure: string): StoredData[] {
  const c = storedDataCodec(ctx.dataModel(kind));
  const v = r.vector(4, structure, 'values');
  const out: StoredData[] = [];
  while (v.left > 0) out.push(c.decode(v));
  return out;
}

function encodeStoredDataList(ctx: WireContext, kind: number, w: Writer, values: StoredData[], structure: string): void {
  const c = storedDataCodec(ctx.dataModel(kind));
  w.u32(storedDataListSize(ctx, kind, values, structure));
  for (const v of values) c.encode(w, v);
}

export interface StorageCodecs {
  storeReq: Codec<StoreReq>;
  storeAns: Codec<StoreAns>;
  fetchReq: Codec<FetchReq>;
  fetchAns: Codec<FetchAns>;
  statReq: Codec<StatReq>;
  statAns: Codec<StatAns>;
  findReq: Codec<FindReq>;
  findAns: Codec<FindAns>;
  specifier: Codec<StoredDataSpecifier>;
  storedMetaData(model: DataModel | undefined): Codec<StoredMetaData>;
}

const cache = new WeakMap<WireContext, StorageCodecs>();

/** The storage codecs for a context (its NodeIdLength and Kind data models). */
export function storageCodecs(ctx: WireContext): StorageCodecs {
  let c = cache.get(ctx);
  if (!c) {
    c = makeStorageCodecs(ctx);
    cache.set(ctx, c);
  }
  return c;
}

function makeStorageCodecs(ctx: WireContext): StorageCodecs {
  const resourceIdSize = (id: Uint8Array, s: string) => opaqueSize(1, id, s, 'resource');

  const storeKindData: Codec<StoreKindData> = {
    name: 'StoreKindData',
    size: (k) => 12 + 4 + storedDataListSize(ctx, k.kind, k.values, 'StoreKindData'),
    encode(w, k) {
      w.u32(k.kind);
      w.u64(k.generationCounter);
      encodeStoredDataList(ctx, k.kind, w, k.values, 'StoreKindData');
    },
    decode(r) {
      const kind = r.u32('StoreKindData', 'kind');
      const generationCounter = r.u64('StoreKindData', 'generation_counter');
      return { kind, generationCounter, values: decodeStoredDataList(ctx, kind, r, 'StoreKindData') };
    },
  };
  const storeKindDataList = vectorOf('StoreReq.kind_data', 4, storeKindData);

  const storeReq: Codec<StoreReq> = {
    name: 'StoreReq',
    size: (s) => resourceIdSize(s.resource, 'StoreReq') + 1 + storeKindDataList.size(s.kindData),
    encode(w, s) {
      w.opaque(1, s.resource);
      w.u8(s.replicaNumber);
      storeKindDataList.encode(w, s.kindData);
    },
    decode: (r) => ({
      resource: r.opaque(1, 'StoreReq', 'resource'),
      replicaNumber: r.u8('StoreReq', 'replica_number'),
      kindData: storeKindDataList.decode(r),
    }),
  };

  const replicaList = nodeIdListCodec('StoreKindResponse.replicas', ctx.nodeIdLength);
  const storeKindResponse: Codec<StoreKindResponse> = {
    name: 'StoreKindResponse',
    size: (k) => 12 + replicaList.size(k.replicas),
    encode(w, k) {
      w.u32(k.kind);
      w.u64(k.generationCounter);
      replicaList.encode(w, k.replicas);
    },
    decode: (r) => ({
      kind: r.u32('StoreKindResponse', 'kind'),
      generationCounter: r.u64('StoreKindResponse', 'generation_counter'),
      replicas: replicaList.decode(r),
    }),
  };
  const storeKindResponses = vectorOf('StoreAns.kind_responses', 2, storeKindResponse);
  const storeAns: Codec<StoreAns> = {
    name: 'StoreAns',
    size: (a) => storeKindResponses.size(a.kindResponses),
    encode: (w, a) => storeKindResponses.encode(w, a.kindResponses),
    decode: (r) => ({ kindResponses: storeKindResponses.decode(r) }),
  };

  const SP = 'StoredDataSpecifier';
  const arrayRange: Codec<ArrayRange> = {
    name: 'ArrayRange',
    size: () => 8,
    encode(w, a) {
      w.u32(a.first);
      w.u32(a.last);
    },
    decode: (r) => ({ first: r.u32('ArrayRange', 'first'), last: r.u32('ArrayRange', 'last') }),
  };
  const indices = vectorOf('StoredDataSpecifier.indices', 2, arrayRange);
  const dictKey: Codec<Uint8Array> = {
    name: 'DictionaryKey',
    size: (k) => opaqueSize(2, k, 'DictionaryKey', 'key'),
    encode: (w, k) => w.opaque(2, k),
    decode: (r) => r.opaque(2, 'DictionaryKey', 'key'),
  };
  const keys = vectorOf('StoredDataSpecifier.keys', 2, dictKey);
  const specInner = (s: StoredDataSpecifier): number => {
    switch (s.model) {
      case 'single':
        return 0;
      case 'array':
        return indices.size(s.indices);
      case 'dictionary':
        return keys.size(s.keys);
      case 'unknown':
        return s.raw.length;
    }
  };
  const specifier: Codec<StoredDataSpecifier> = {
    name: SP,
    size(s) {
      const n = specInner(s);
      if (n > 0xffff) throw new EncodeError(SP, 'length', 'model specifier exceeds 65535 bytes');
      return 14 + n;
    },
    encode(w, s) {
      const model = ctx.dataModel(s.kind);
      if (s.model !== 'unknown' && model !== undefined && model !== s.model) {
        throw new EncodeError(SP, 'model_specifier', `Kind ${s.kind} is ${model}, specifier is ${s.model}`);
      }
      if (s.model === 'array') {
        const bad = arrayRangeProblem(s.indices);
        if (bad) throw new EncodeError(SP, 'indices', bad);
      }
      w.u32(s.kind);
      w.u64(s.generation);
      w.u16(specInner(s));
      switch (s.model) {
        case 'single':
          return;
        case 'array':
          indices.encode(w, s.indices);
          return;
        case 'dictionary':
          keys.encode(w, s.keys);
          return;
        case 'unknown':
          w.bytes(s.raw);
          return;
      }
    },
    decode(r): StoredDataSpecifier {
      const kind = r.u32(SP, 'kind');
      const generation = r.u64(SP, 'generation');
      const lengthAt = r.pos;
      const body = r.vector(2, SP, 'length');
      const model = ctx.dataModel(kind);
      let s: StoredDataSpecifier;
      switch (model) {
        case undefined:
          return { kind, generation, model: 'unknown', raw: body.bytes(body.left, SP, 'model_specifier') };
        case 'single':
          if (body.left !== 0) {
            throw new DecodeError(SP, 'length', 'length', lengthAt, `single-value specifier must be empty, has ${body.left} bytes`);
          }
          return { kind, generation, model };
        case 'array': {
          s = { kind, generation, model, indices: indices.decode(body) };
          const bad = arrayRangeProblem(s.indices);
          if (bad) throw new DecodeError(SP, 'indices', 'value', lengthAt, bad);
          break;
        }
        case 'dictionary':
          s = { kind, generation, model, keys: keys.decode(body) };
          break;
      }
      body.done(SP);
      return s;
    },
  };
  const specifiers = vectorOf('FetchReq.specifiers', 2, specifier);

  const fetchReq: Codec<FetchReq> = {
    name: 'FetchReq',
    size: (f) => resourceIdSize(f.resource, 'FetchReq') + specifiers.size(f.specifiers),
    encode(w, f) {
      w.opaque(1, f.resource);
      specifiers.encode(w, f.specifiers);
    },
    decode: (r) => ({ resource: r.opaque(1, 'FetchReq', 'resource'), specifiers: specifiers.decode(r) }),
  };

  const fetchKindResponse: Codec<FetchKindResponse> = {
    name: 'FetchKindResponse',
    size: (k) => 12 + 4 + storedDataListSize(ctx, k.kind, k.values, 'FetchKindResponse'),
    encode(w, k) {
      w.u32(k.kind);
      w.u64(k.generation);
      encodeStoredDataList(ctx, k.kind, w, k.values, 'FetchKindResponse');
    },
    decode(r) {
      const kind = r.u32('FetchKindResponse', 'kind');
      const generation = r.u64('FetchKindResponse', 'generation');
      return { kind, generation, values: decodeStoredDataList(ctx, kind, r, 'FetchKindResponse') };
    },
  };
  const fetchKindResponses = vectorOf('FetchAns.kind_responses', 4, fetchKindResponse);
  const fetchAns: Codec<FetchAns> = {
    name: 'FetchAns',
    size: (a) => fetchKindResponses.size(a.kindResponses),
    encode: (w, a) => fetchKindResponses.encode(w, a.kindResponses),
    decode: (r) => ({ kindResponses: fetchKindResponses.decode(r) }),
  };

  const SMD = 'MetaData';
  const metaData: Codec<MetaData> = {
    name: SMD,
    size: (m) => 1 + 4 + 1 + opaqueSize(1, m.hashValue, SMD, 'hash_value'),
    encode(w, m) {
      w.bool(m.exists);
      w.u32(m.valueLength);
      w.u8(m.hashAlgorithm);
      w.opaque(1, m.hashValue);
    },
    decode: (r) => ({
      exists: r.bool(SMD, 'exists'),
      valueLength: r.u32(SMD, 'value_length'),
      hashAlgorithm: r.u8(SMD, 'hash_algorithm'),
      hashValue: r.opaque(1, SMD, 'hash_value'),
    }),
  };
  const metaValueSize = (m: MetaDataValue): number => {
    switch (m.model) {
      case 'single':
        return metaData.size(m.metadata);
      case 'array':
        return 4 + metaData.size(m.metadata);
      case 'dictionary':
        return opaqueSize(2, m.key, 'DictionaryEntryMeta', 'key') + metaData.size(m.metadata);
      case 'unknown':
        return m.raw.length;
    }
  };
  const SSM = 'StoredMetaData';
  // UNCONFIRMED (RFC 6940 §6.4.1.2 / §7.4.3.2): StoredMetaData's first field is named
  // value_length but mirrors StoredData.length. We read it as the byte length of the rest
  // of the structure, like StoredData and like Wireshark's dissector; MetaData.value_length
  // carries the stored value's own length.
  const storedMetaDataCache = new Map<DataModel | undefined, Codec<StoredMetaData>>();
  const storedMetaData = (model: DataModel | undefined): Codec<StoredMetaData> => {
    let cm = storedMetaDataCache.get(model);
    if (cm) return cm;
    cm = {
      name: SSM,
      size: (m) => 4 + 12 + metaValueSize(m.metadata),
      encode(w, m) {
        w.u32(12 + metaValueSize(m.metadata));
        w.u64(m.storageTime);
        w.u32(m.lifetime);
        const v = m.metadata;
        switch (v.model) {
          case 'single':
            metaData.encode(w, v.metadata);
            return;
          case 'array':
            w.u32(v.index);
            metaData.encode(w, v.metadata);
            return;
          case 'dictionary':
            w.opaque(2, v.key);
            metaData.encode(w, v.metadata);
            return;
          case 'unknown':
            w.bytes(v.raw);
            return;
        }
      },
      decode(r) {
        const body = r.vector(4, SSM, 'value_length');
        const storageTime = body.u64(SSM, 'storage_time');
        const lifetime = body.u32(SSM, 'lifetime');
        let metadata: MetaDataValue;
        switch (model) {
          case undefined:
            return { storageTime, lifetime, metadata: { model: 'unknown', raw: body.bytes(body.left, SSM, 'metadata') } };
          case 'single':
            metadata = { model, metadata: metaData.decode(body) };
            break;
          case 'array':
            metadata = { model, index: body.u32('ArrayEntryMeta', 'index'), metadata: metaData.decode(body) };
            break;
          case 'dictionary':
            metadata = { model, key: body.opaque(2, 'DictionaryEntryMeta', 'key'), metadata: metaData.decode(body) };
            break;
        }
        body.done(SSM);
        return { storageTime, lifetime, metadata };
      },
    };
    storedMetaDataCache.set(model, cm);
    return cm;
  };

  const statKindResponse: Codec<StatKindResponse> = {
    name: 'StatKindResponse',
    size(k) {
      const c = storedMetaData(ctx.dataModel(k.kind));
      let n = 12 + 4;
      for (const v of k.values) n += c.size(v);
      return n;
    },
    encode(w, k) {
      const c = storedMetaData(ctx.dataModel(k.kind));
      w.u32(k.kind);
      w.u64(k.generation);
      let n = 0;
      for (const v of k.values) n += c.size(v);
      w.u32(n);
      for (const v of k.values) c.encode(w, v);
    },
    decode(r) {
      const kind = r.u32('StatKindResponse', 'kind');
      const generation = r.u64('StatKindResponse', 'generation');
      const c = storedMetaData(ctx.dataModel(kind));
      const v = r.vector(4, 'StatKindResponse', 'values');
      const values: StoredMetaData[] = [];
      while (v.left > 0) values.push(c.decode(v));
      return { kind, generation, values };
    },
  };
  const statKindResponses = vectorOf('StatAns.kind_responses', 4, statKindResponse);
  const statAns: Codec<StatAns> = {
    name: 'StatAns',
    size: (a) => statKindResponses.size(a.kindResponses),
    encode: (w, a) => statKindResponses.encode(w, a.kindResponses),
    decode: (r) => ({ kindResponses: statKindResponses.decode(r) }),
  };

  const SF = 'FindReq';
  const findReq: Codec<FindReq> = {
    name: SF,
    size(f) {
      if (f.kinds.length * 4 > 255) throw new EncodeError(SF, 'kinds', 'more than 63 kinds');
      return resourceIdSize(f.resource, SF) + 1 + 4 * f.kinds.length;
    },
    encode(w, f) {
      w.opaque(1, f.resource);
      w.u8(f.kinds.length * 4);
      for (const k of f.kinds) w.u32(k);
    },
    decode(r) {
      const resource = r.opaque(1, SF, 'resource');
      const at = r.pos;
      const v = r.vector(1, SF, 'kinds');
      if (v.left % 4 !== 0) throw new DecodeError(SF, 'kinds', 'length', at, 'not a whole number of KindIds');
      const kinds: number[] = [];
      while (v.left > 0) kinds.push(v.u32(SF, 'kind'));
      return { resource, kinds };
    },
  };
  const findKindData: Codec<FindKindData> = {
    name: 'FindKindData',
    size: (f) => 4 + opaqueSize(1, f.closest, 'FindKindData', 'closest'),
    encode(w, f) {
      w.u32(f.kind);
      w.opaque(1, f.closest);
    },
    decode: (r) => ({ kind: r.u32('FindKindData', 'kind'), closest: r.opaque(1, 'FindKindData', 'closest') }),
  };
  const findResults = vectorOf('FindAns.results', 2, findKindData);
  const findAns: Codec<FindAns> = {
    name: 'FindAns',
    size: (a) => findResults.size(a.results),
    encode: (w, a) => findResults.encode(w, a.results),
    decode: (r) => ({ results: findResults.decode(r) }),
  };

  return {
    storeReq,
    storeAns,
    fetchReq,
    fetchAns,
    statReq: fetchReq,
    statAns,
    findReq,
    findAns,
    specifier,
    storedMetaData,
  };
}
