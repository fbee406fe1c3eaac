/**
 * ShaRe — shared write access to RELOAD Resources (RFC 8076) as a usage plugin.
 *
 * The plugin registers the USER-CHAIN-ACL policy and the ACCESS-CONTROL-LIST Kind (0x4,
 * array); the overlay configuration declares the shared Kinds (array or dictionary, access
 * control USER-CHAIN-ACL, optionally `share:variable-resource-names`). Once the node runs,
 * the same object is the client API that other usages (the conference usage) build on:
 * grant / revoke / list the ACL, write and read shared values, and validate fetched values
 * against the ACL (RFC 8076 §6.5).
 *
 * @example
 * ```ts
 * const share = shareUsage();
 * const node = createNode({ config, credentials, privateKey, usages: [share], ... });
 * await node.start();
 * // The owner alice@example.org shares Kind 0xF0000101 of her resource with bob:
 * await share.grant('alice@example.org', 0xf0000101, 'bob@example.org', true);
 * // bob (on his node) writes his own entry, and readers check it against the ACL:
 * await bobShare.writeShared('alice@example.org', 0xf0000101, utf8('hello'));
 * const { values } = await share.fetchShared('alice@example.org', 0xf0000101);
 * ```
 */
import type { UsageApi, UsagePlugin } from '../../src/node/usage.js';
import type { ValueToStore, VerifiedValue } from '../../src/node/data.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import type { StoreAns } from '../../src/wire/storage.js';
import { fromUtf8, utf8 } from '../../src/wire/codec.js';
import {
  ACCESS_CONTROL_LIST_KIND,
  type AccessControlListItem,
  SHARE_SLOTS_PER_WRITER,
  decodeAclItem,
  encodeAclItem,
  joinNamedValue,
  resourceNameOf,
  shareArrayIndex,
  splitNamedValue,
} from './acl.js';
import {
  type AclRecord,
  type OwnerTest,
  ShareRefusal,
  USER_CHAIN_ACL,
  USER_CHAIN_ACL_NAME,
  aclItemValid,
  checkSharedWrite,
  namesEnabled,
  ownerTest,
  patternsOf,
} from './policy.js';

export * from './acl.js';
export * from './pattern.js';
export * from './policy.js';

/** Default max-count of ACCESS-CONTROL-LIST when the configuration has no kind-block for it. */
export const DEFAULT_ACL_MAX_COUNT = 128;
/** Default max-size (bytes of one AccessControlListItem) when the configuration has no kind-block. */
export const DEFAULT_ACL_MAX_SIZE = 2048;

export interface ShareUsageInit {
  /** max-count of ACCESS-CONTROL-LIST (a configuration kind-block wins). @default DEFAULT_ACL_MAX_COUNT */
  aclMaxCount?: number;
  /** max-size of ACCESS-CONTROL-LIST (a configuration kind-block wins). @default DEFAULT_ACL_MAX_SIZE */
  aclMaxSize?: number;
}

/** Why a client call failed before anything was sent, machine-readable. */
export type ShareUsageErrorReason =
  | 'not-started' // the node has not started the usage yet
  | 'unknown-kind' // the Kind is not known to this node
  | 'not-shared' // the Kind does not use USER-CHAIN-ACL
  | 'not-owner' // only the Resource Owner may do this
  | 'no-free-index' // the writer's 256 array slots are all taken
  | 'no-user-name' // this node's certificate has no user name
  | 'not-found'; // no such ACL entry

export class ShareUsageError extends Error {
  readonly code = 'ERR_SHARE_USAGE';
  constructor(
    readonly reason: ShareUsageErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'ShareUsageError';
  }
}

/** One entry of a Resource's ACL as read by {@link ShareUsage.listAcl}. */
export interface AclEntry {
  /** Array index (the signer's range, RFC 8076 §3.1). */
  index: number;
  /** The item; undefined for a revoked entry (exists = false). */
  item: AccessControlListItem | undefined;
  /** to_user as text (undefined for a revoked entry or non-UTF-8 bytes). */
  toUser: string | undefined;
  signer: { userName: string | undefined; nodeId: Uint8Array };
  storageTime: bigint;
  /** Whether the item is valid now (root by the owner, or a signer with a valid chain). */
  valid: boolean;
  /** Why it is not valid. */
  reason?: string;
}

/** A shared value that passed the ACL check. */
export interface SharedValue {
  /** Dictionary key or array index. */
  key: Uint8Array | undefined;
  index: number | undefined;
  exists: boolean;
  /** The value without its ResourceNameExtension (when the Kind has one). */
  payload: Uint8Array;
  /** The Resource Name the value carried, if any. */
  resourceName: Uint8Array | undefined;
  signer: { userName: string | undefined; nodeId: Uint8Array };
  storageTime: bigint;
  /** The verified value as fetched. */
  value: VerifiedValue;
}

export interface SharedValidation {
  /** Signed values that pass (RFC 8076 §6.5), in fetch order. */
  valid: VerifiedValue[];
  /** Signed values that fail, with the reason. */
  rejected: { value: VerifiedValue; reason: string }[];
  /** Unsigned non-existent entries the storing peer synthesized (ignored). */
  synthetic: number;
}

export interface WriteSharedOptions {
  /** Array Kinds: the writer's 8-bit local index (0..255). @default 0 */
  localIndex?: number;
  /** Lifetime in seconds. */
  lifetimeS?: number;
  /** false stores a non-existent value (deletes the writer's entry). @default true */
  exists?: boolean;
}

/**
 * Reads are split so that every FetchAns stays well within the default max-message-size of
 * 5000 bytes (RFC 6940 §11.1): each answer carries the storing peer's certificate and one
 * per signer of the values returned (RFC 6940 §6.3.4), about 1.2 KB each with RSA-2048.
 * One Fetch therefore asks for the values of one writer (one array range or one dictionary
 * key) and at most this many estimated bytes of StoredData.
 */
export const SHARE_FETCH_PART_BYTES = 1600;
/** Estimated bytes of a StoredData beyond its value: times, index, RSA-2048 signature. */
export const SHARE_STORED_DATA_OVERHEAD_BYTES = 330;

/** Contiguous ranges of sorted indexes. */
function toRanges(indexes: number[]): { first: number; last: number }[] {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const out: { first: number; last: number }[] = [];
  for (const i of sorted) {
    const top = out[out.length - 1];
    if (top && i === top.last + 1) top.last = i;
    else out.push({ first: i, last: i });
  }
  return out;
}

function textOrUndefined(b: Uint8Array): string | undefined {
  try {
    return fromUtf8(b);
  } catch {
    return undefined;
  }
}

/**
 * The ShaRe usage plugin and client. One instance per node (it holds the node's UsageApi
 * once started).
 */
export class ShareUsage implements UsagePlugin {
  readonly name = 'share';
  readonly policies = [USER_CHAIN_ACL] as const;
  readonly kinds: readonly Omit<KindDefinition, 'source'>[];
  private api: UsageApi | undefined;

  constructor(init: ShareUsageInit = {}) {
    this.kinds = [
      {
        id: ACCESS_CONTROL_LIST_KIND,
        name: 'ACCESS-CONTROL-LIST',
        dataModel: 'array',
        accessControl: USER_CHAIN_ACL_NAME,
        maxCount: init.aclMaxCount ?? DEFAULT_ACL_MAX_COUNT,
        maxSize: init.aclMaxSize ?? DEFAULT_ACL_MAX_SIZE,
      },
    ];
  }

  start(api: UsageApi): void {
    this.api = api;
  }

  stop(): void {
    this.api = undefined;
  }

  /** Whether the usage runs (the node started it). */
  get started(): boolean {
    return this.api !== undefined;
  }

  // ------------------------------------------------------------------ ACL

  /**
   * The ACL of a Resource (RFC 8076 §6.5): a Stat learns the indexes of the stored ACL
   * items, a Fetch reads them; signatures are verified, and each entry says whether it is
   * valid now.
   */
  async listAcl(resourceName: string): Promise<AclEntry[]> {
    const api = this.need();
    const fetched = await this.statThenFetch(resourceName, ACCESS_CONTROL_LIST_KIND);
    const aclNamed = namesEnabled(api.kind(ACCESS_CONTROL_LIST_KIND));
    const records: { record: AclRecord; value: VerifiedValue }[] = [];
    for (const v of fetched) {
      if (v.synthetic || !v.signer || v.data.value.model !== 'array') continue;
      let item: AccessControlListItem | undefined;
      if (v.data.value.value.exists) {
        try {
          item = decodeAclItem(v.data.value.value.value, aclNamed);
        } catch {
          continue; // a malformed item grants nothing
        }
      }
      records.push({
        record: { index: v.data.value.index, item, signerUser: utf8(v.signer.certificate.userName ?? ''), signerNodeId: v.signer.nodeId },
        value: v,
      });
    }
    const acl = records.map((r) => r.record);
    const owners = new Map<number, OwnerTest>();
    return records.map(({ record, value }) => {
      let verdict: { valid: boolean; reason?: string } = { valid: false, reason: 'a revoked entry (exists = false)' };
      if (record.item) {
        let isOwner = owners.get(record.item.kind);
        if (!isOwner) owners.set(record.item.kind, (isOwner = this.ownerTestFor(resourceName, record.item.kind)));
        const r = aclItemValid(record, acl, isOwner);
        verdict = r.valid ? { valid: true } : { valid: false, reason: r.reason };
      }
      return {
        index: record.index,
        item: record.item,
        toUser: record.item ? textOrUndefined(record.item.toUser) : undefined,
        signer: { userName: value.signer!.certificate.userName, nodeId: value.signer!.nodeId },
        storageTime: value.data.storageTime,
        ...verdict,
      };
    });
  }

  /** Whether this node's user is the Resource Owner of `resourceName` for Kind `kind`. */
  isOwner(resourceName: string, kind: number): boolean {
    const api = this.need();
    if (api.userName === undefined) return false;
    return this.ownerTestFor(resourceName, kind)(utf8(api.userName));
  }

  /**
   * Stores the root item of Kind `kind` (to_user = the owner, allow_delegation = 1, RFC 8076
   * §6.1 step 1) unless a valid one exists. Only the Resource Owner may. Returns the root entry's index.
   */
  async createRoot(resourceName: string, kind: number, opts: { lifetimeS?: number } = {}): Promise<number> {
    const api = this.need();
    const me = this.userName();
    this.sharedKind(kind);
    if (!this.isOwner(resourceName, kind)) throw new ShareUsageError('not-owner', `${me} is not the Resource Owner of ${resourceName}`);
    const acl = await this.listAcl(resourceName);
    const root = acl.find((e) => e.valid && e.item?.kind === kind && e.toUser === me && e.signer.userName === me && e.item.allowDelegation);
    if (root) return root.index;
    const [index] = this.freeIndexes(acl, 1);
    await api.store(resourceName, ACCESS_CONTROL_LIST_KIND, [this.aclValue(resourceName, index!, { toUser: me, kind, allowDelegation: true })], this.lifetime(opts));
    return index!;
  }

  /**
   * Grants `toUser` write access to Kind `kind` of the Resource (RFC 8076 §6.1): an ACL item
   * at this node's next free index, signed by this node. The Resource Owner's first grant for
   * a Kind stores the root item with it (one StoreReq). A delegate needs allow_delegation.
   * Returns the index of the new item.
   */
  async grant(resourceName: string, kind: number, toUser: string, allowDelegation = false, opts: { lifetimeS?: number } = {}): Promise<number> {
    const api = this.need();
    const me = this.userName();
    this.sharedKind(kind);
    const acl = await this.listAcl(resourceName);
    const values: ValueToStore[] = [];
    const owner = this.isOwner(resourceName, kind);
    const hasRoot = acl.some((e) => e.valid && e.item?.kind === kind && e.toUser === me && e.signer.userName === me && e.item.allowDelegation);
    const needRoot = owner && !hasRoot && toUser !== me;
    const free = this.freeIndexes(acl, needRoot ? 2 : 1);
    if (needRoot) values.push(this.aclValue(resourceName, free.shift()!, { toUser: me, kind, allowDelegation: true }));
    const index = free.shift()!;
    values.push(this.aclValue(resourceName, index, { toUser, kind, allowDelegation: toUser === me ? true : allowDelegation }));
    await api.store(resourceName, ACCESS_CONTROL_LIST_KIND, values, this.lifetime(opts));
    return index;
  }

  /**
   * Revokes an ACL entry (given by its index or as listed) by storing a non-existent value there (RFC 8076 §6.2);
   * the signer of the entry or the Resource Owner may. When this node is the Resource Owner
   * and `subtree` is not false, every item of the same Kind that is invalid once the entry
   * is gone (the delegations made below it, and earlier orphans) is overwritten in the same
   * StoreReq too, as §6.2 recommends. Returns the indexes overwritten.
   */
  async revoke(resourceName: string, entry: number | AclEntry, opts: { subtree?: boolean; lifetimeS?: number } = {}): Promise<number[]> {
    const api = this.need();
    const me = this.userName();
    const index = typeof entry === 'number' ? entry : entry.index;
    const acl = await this.listAcl(resourceName);
    const target = acl.find((e) => e.index === index);
    if (!target) throw new ShareUsageError('not-found', `no ACL entry at index 0x${index.toString(16)} of ${resourceName}`);
    const kind = target.item?.kind;
    const owner = kind !== undefined ? this.isOwner(resourceName, kind) : false;
    if (target.signer.userName !== me && !owner) {
      throw new ShareUsageError('not-owner', `the entry is signed by ${target.signer.userName}; only its signer or the Resource Owner may revoke it`);
    }
    const indexes = [index];
    if (owner && kind !== undefined && opts.subtree !== false) {
      const after: AclRecord[] = acl.map((e) => ({
        index: e.index,
        item: e.index === index ? undefined : e.item,
        signerUser: utf8(e.signer.userName ?? ''),
        signerNodeId: e.signer.nodeId,
      }));
      const isOwner = this.ownerTestFor(resourceName, kind);
      for (const r of after) {
        if (!r.item || r.item.kind !== kind || r.index === index) continue;
        if (!aclItemValid(r, after, isOwner).valid) indexes.push(r.index);
      }
    }
    const values: ValueToStore[] = indexes.map((i) => ({ model: 'array', index: i, value: new Uint8Array(0), exists: false }));
    await api.store(resourceName, ACCESS_CONTROL_LIST_KIND, values, this.lifetime(opts));
    return indexes;
  }

  // ------------------------------------------------------------------ shared values

  /**
   * Writes this node's own entry of a shared Kind (RFC 8076 §3.1): dictionary key = own
   * Node-ID; array index = own range with `localIndex`. When the Kind enables variable
   * resource names the value is prefixed with the ResourceNameExtension.
   */
  async writeShared(resourceName: string, kind: number, payload: Uint8Array, opts: WriteSharedOptions = {}): Promise<StoreAns> {
    const api = this.need();
    const def = this.sharedKind(kind);
    const exists = opts.exists ?? true;
    const value = exists && namesEnabled(def) ? joinNamedValue(resourceName, payload) : exists ? payload : new Uint8Array(0);
    const v: ValueToStore =
      def.dataModel === 'dictionary'
        ? { model: 'dictionary', key: api.nodeId, value, exists }
        : { model: 'array', index: shareArrayIndex(api.nodeId, opts.localIndex ?? 0), value, exists };
    return api.store(resourceName, kind, [v], this.lifetime(opts));
  }

  /**
   * Checks fetched values of a shared Kind against the Resource's ACL (RFC 8076 §6.5),
   * reading the ACL (Stat + Fetch) unless `acl` is given.
   */
  async validateFetched(resourceName: string, kind: number, values: readonly VerifiedValue[], acl?: readonly AclEntry[]): Promise<SharedValidation> {
    const api = this.need();
    const def = this.sharedKind(kind);
    const entries = acl ?? (await this.listAcl(resourceName));
    const records: AclRecord[] = entries.map((e) => ({ index: e.index, item: e.item, signerUser: utf8(e.signer.userName ?? ''), signerNodeId: e.signer.nodeId }));
    const names: Uint8Array[] = [utf8(resourceName)];
    for (const r of records) {
      const n = resourceNameOf(r.item?.resNameExt);
      if (n) names.push(n);
    }
    const out: SharedValidation = { valid: [], rejected: [], synthetic: 0 };
    for (const v of values) {
      if (v.synthetic || !v.signer) {
        out.synthetic++;
        continue;
      }
      if (v.data.value.model === 'single') {
        out.rejected.push({ value: v, reason: 'a shared Kind is an array or a dictionary' });
        continue;
      }
      try {
        checkSharedWrite(
          {
            resourceId: api.resourceId(resourceName),
            hash: (d) => api.resourceId(d),
            kind: def,
            kindOf: (id) => api.kind(id),
            acl: () => records,
            otherNames: () => names,
            fetched: true,
          },
          v.data.value,
          { user: utf8(v.signer.certificate.userName ?? ''), nodeId: v.signer.nodeId },
        );
        out.valid.push(v);
      } catch (err) {
        if (!(err instanceof ShareRefusal)) throw err;
        out.rejected.push({ value: v, reason: err.message });
      }
    }
    return out;
  }

  /**
   * Fetches every value of a shared Kind and keeps those the ACL allows (RFC 8076 §6.5);
   * existing values come back with the ResourceNameExtension split off.
   */
  async fetchShared(resourceName: string, kind: number): Promise<{ values: SharedValue[]; rejected: { value: VerifiedValue; reason: string }[]; acl: AclEntry[] }> {
    const def = this.sharedKind(kind);
    const acl = await this.listAcl(resourceName);
    const fetched = await this.statThenFetch(resourceName, kind);
    const checked = await this.validateFetched(resourceName, kind, fetched, acl);
    const named = namesEnabled(def);
    const values = checked.valid.map((v): SharedValue => {
      const sv = v.data.value;
      let payload = sv.value.value;
      let name: Uint8Array | undefined;
      if (sv.value.exists && named) {
        const split = splitNamedValue(sv.value.value);
        payload = split.payload;
        name = resourceNameOf(split.ext);
      }
      return {
        key: sv.model === 'dictionary' ? sv.key : undefined,
        index: sv.model === 'array' ? sv.index : undefined,
        exists: sv.value.exists,
        payload,
        resourceName: name,
        signer: { userName: v.signer!.certificate.userName, nodeId: v.signer!.nodeId },
        storageTime: v.data.storageTime,
        value: v,
      };
    });
    return { values, rejected: checked.rejected, acl };
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Every value of an array or dictionary Kind at a resource: a Stat for the indexes / keys
   * held (RFC 8076 §6.5 step 1), then Fetches of one writer's values each, in parallel
   * (step 2; see {@link SHARE_FETCH_PART_BYTES}). Values whose signature fails are dropped
   * by the node's fetch; synthesized gap entries are left out.
   */
  private async statThenFetch(resourceName: string, kind: number): Promise<VerifiedValue[]> {
    const api = this.need();
    const stat = await api.stat(resourceName, kind);
    const groups = new Map<string, { index?: number; key?: Uint8Array; bytes: number }[]>();
    for (const k of stat.kindResponses) {
      if (k.kind !== kind) continue;
      for (const m of k.values) {
        const md = m.metadata;
        if (md.model === 'array') {
          const g = `a${md.index >>> 8}`;
          if (!groups.has(g)) groups.set(g, []);
          groups.get(g)!.push({ index: md.index, bytes: SHARE_STORED_DATA_OVERHEAD_BYTES + md.metadata.valueLength });
        } else if (md.model === 'dictionary') {
          groups.set(`d${groups.size}`, [{ key: md.key, bytes: SHARE_STORED_DATA_OVERHEAD_BYTES + md.metadata.valueLength }]);
        }
      }
    }
    const parts: { index?: number; key?: Uint8Array }[][] = [];
    for (const g of groups.values()) {
      let part: { index?: number; key?: Uint8Array }[] = [];
      let bytes = 0;
      for (const e of g) {
        if (part.length > 0 && bytes + e.bytes > SHARE_FETCH_PART_BYTES) {
          parts.push(part);
          part = [];
          bytes = 0;
        }
        part.push(e);
        bytes += e.bytes;
      }
      if (part.length > 0) parts.push(part);
    }
    const answers = await Promise.all(
      parts.map((p) =>
        p[0]!.key !== undefined
          ? api.fetch(resourceName, kind, { keys: p.map((e) => e.key!) })
          : api.fetch(resourceName, kind, { indices: toRanges(p.map((e) => e.index!)) }),
      ),
    );
    return answers.flatMap((a) => a.values.filter((v) => !v.synthetic));
  }

  private need(): UsageApi {
    if (!this.api) throw new ShareUsageError('not-started', 'the ShaRe usage has not been started by a node');
    return this.api;
  }

  private userName(): string {
    const u = this.need().userName;
    if (u === undefined) throw new ShareUsageError('no-user-name', "this node's certificate has no user name: it cannot take part in ShaRe");
    return u;
  }

  private lifetime(opts: { lifetimeS?: number }): { lifetimeS?: number } {
    return opts.lifetimeS !== undefined ? { lifetimeS: opts.lifetimeS } : {};
  }

  /** The definition of a shared Kind (USER-CHAIN-ACL), or a ShareUsageError. */
  private sharedKind(kind: number): KindDefinition {
    const def = this.need().kind(kind);
    if (!def) throw new ShareUsageError('unknown-kind', `Kind ${kind} is not known to this node`);
    if (def.accessControl.toUpperCase() !== USER_CHAIN_ACL_NAME) {
      throw new ShareUsageError('not-shared', `Kind ${kind} uses ${def.accessControl}, not ${USER_CHAIN_ACL_NAME}`);
    }
    return def;
  }

  /** The Resource Owner test for a shared Kind of `resourceName` (USER-MATCH or a pattern). */
  private ownerTestFor(resourceName: string, kind: number): OwnerTest {
    const api = this.need();
    const patterns = [...patternsOf(api.kind(kind)), ...patternsOf(api.kind(ACCESS_CONTROL_LIST_KIND))];
    const name = utf8(resourceName);
    return ownerTest((d) => api.resourceId(d), api.resourceId(name), name, patterns);
  }

  /** The first `n` free indexes in this node's range (absent or revoked entries). */
  private freeIndexes(acl: readonly AclEntry[], n: number): number[] {
    const api = this.need();
    const taken = new Set(acl.filter((e) => e.item !== undefined).map((e) => e.index));
    const out: number[] = [];
    for (let local = 0; local < SHARE_SLOTS_PER_WRITER && out.length < n; local++) {
      const i = shareArrayIndex(api.nodeId, local);
      if (!taken.has(i)) out.push(i);
    }
    if (out.length < n) throw new ShareUsageError('no-free-index', `all ${SHARE_SLOTS_PER_WRITER} ACL slots of this node are taken`);
    return out;
  }

  private aclValue(resourceName: string, index: number, item: { toUser: string; kind: number; allowDelegation: boolean }): ValueToStore {
    const withName = namesEnabled(this.need().kind(ACCESS_CONTROL_LIST_KIND));
    const full: AccessControlListItem = { toUser: utf8(item.toUser), kind: item.kind, allowDelegation: item.allowDelegation };
    if (withName) full.resNameExt = { type: 'pattern', resourceName: utf8(resourceName) };
    return { model: 'array', index, value: encodeAclItem(full, withName) };
  }
}

/** A new ShaRe usage (plugin and client). Also the module's default export, for `--usage`. */
export function shareUsage(init: ShareUsageInit = {}): ShareUsage {
  return new ShareUsage(init);
}

export default shareUsage;
