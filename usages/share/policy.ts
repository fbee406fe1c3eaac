/**
 * The USER-CHAIN-ACL access-control policy (RFC 8076 §6.6, §6.3, §6.4) and the ACL chain
 * validation that storing peers and fetching peers (RFC 8076 §6.5) share.
 *
 * A write of a USER-CHAIN-ACL Kind (the ACCESS-CONTROL-LIST Kind itself, or a shared Kind) by
 * the user `W` (the signer's certificate user name; names are compared as bytes, §6.3) is
 * allowed when all of these hold:
 *
 * 1. Isolation (§3.1): a dictionary key is the signer's Node-ID; an array index is in the
 *    signer's range (low 24 bits of its Node-ID, then 8 bits). The Resource Owner may
 *    overwrite an entry that already exists in anyone's slot (revocation §6.2, "overwrite
 *    malicious contributions" §8); it creates new entries in its own slots only.
 * 2. Overwriting (§6.1, §6.2): an existing entry (exists = true) is overwritten only by the
 *    user who signed it or by the Resource Owner.
 * 3. Ownership (§6.6 rules 1-2): `W` is the Resource Owner when Hash(W) = Resource-ID
 *    (USER-MATCH), or, for Kinds with variable resource names enabled, when the Resource
 *    Name (from a ResourceNameExtension, with Hash(name) = Resource-ID) fully matches one of
 *    the configured patterns with `W`'s user and domain. A value of a named Kind written by
 *    someone who is not the owner by USER-MATCH must carry a pattern ResourceNameExtension
 *    whose name hashes to the Resource-ID (§6.6 rule 2).
 * 4. Root items (§4.2, §6.4): an ACL item whose to_user is its signer's own user name is a
 *    root item; only the Resource Owner stores one.
 * 5. Delegation chain (§6.3, §6.6 rule 3): unless `W` is the Resource Owner, an ACL item for
 *    the Kind must grant `W` (with allow_delegation when `W` writes an ACL item), signed by
 *    a user who is granted with allow_delegation, and so on up to a root item signed by the
 *    Resource Owner. Any grantor path will do; the search visits each user once, so cycles
 *    (A→B→A) end.
 *
 * Decisions where RFC 8076 is silent or terse:
 * - §6.6 rule 2 read literally ("the signer's user name matches a pattern") would refuse
 *   every delegated writer. It is applied to the Resource Owner instead: the Resource Name
 *   must be the owner's by a pattern (or USER-MATCH), and the chain must end at the owner's
 *   root item.
 * - The patterns that decide ownership for shared Kind K are those of K's kind-block and of
 *   the ACCESS-CONTROL-LIST kind-block (an ACL item for K is governed by both). The Resource
 *   Name may come from the value written, from the entry it replaces, or from any value at
 *   the Resource-ID that carries one (an exists = false value carries none); a name counts
 *   only if it hashes to the Resource-ID, so all of them are the same name.
 * - A non-existent value (exists = false, a revocation §6.2) written over an ACL item is
 *   checked like that item (its Kind-ID, allow_delegation needed); one that replaces nothing
 *   live grants nothing and needs only rules 1-2.
 * - Replica stores (replica_number > 0): rules 1-4 and, for shared Kinds, the chain rule are
 *   applied to every value against the ACL the replica holds. Our node replicates a snapshot
 *   of the whole resource, Kinds in ascending Kind-ID order, as one StoreReq or, when that
 *   would exceed max-message-size, as several sent one after the other
 *   (src/node/replica-split.ts). So the ACL (Kind 0x4) reaches the replica before every
 *   shared Kind (a USER-CHAIN-ACL Kind other than 0x4 has an ID > 4, IANA Kinds 1-3 having
 *   other policies), in the same StoreReq or an earlier one. ACL items themselves are not
 *   chain-checked in a replica: they are checked in index order, and an item's chain may run
 *   through items at higher indexes or in a later part of the same snapshot; an unchecked
 *   item grants nothing, since every chain is checked link by link up to an owner-signed
 *   root. A refused replica value is left out of the replica
 *   ({@link AccessPolicy.omitRefusedReplicaValues}) instead of failing the StoreReq: a value
 *   accepted before a revocation fails the chain afterwards, and refusing the whole snapshot
 *   would freeze the replicas on the old ACL. A sender that delivered data before the ACL
 *   that grants it would see that data left out until its next snapshot.
 * - §6.6 rule 1 is taken as written: a writer whose user name hashes to the Resource-ID
 *   (USER-MATCH) is the owner, and the name in its value's extension is not checked further.
 * - A signer whose certificate has no user name may not write (there is no name to grant).
 * - Refusals answer Error_Forbidden (RFC 6940 code 2; RFC 8076 §6.1 names it for an
 *   overwrite of another peer's item); a value that does not decode as its Kind's structure
 *   answers Error_Invalid_Message.
 */
import { ReloadError } from '../../src/common/errors.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import type { AccessPolicy, OverlayHash, PolicyCheck, StoredValueView } from '../../src/storage/policies.js';
import { DecodeError, bytesEqual, fromUtf8, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import type { StoredDataValue } from '../../src/wire/storage.js';
import {
  ACCESS_CONTROL_LIST_KIND,
  type AccessControlListItem,
  decodeAclItem,
  isIndexOf,
  resourceNameOf,
  sameUser,
  splitNamedValue,
} from './acl.js';
import { type SharePattern, compileSharePattern } from './pattern.js';

/** The access-control policy name (RFC 8076 §9.1). */
export const USER_CHAIN_ACL_NAME = 'USER-CHAIN-ACL';

/** `share:variable-resource-names` of a kind-block (RFC 8076 §5.3), as the configuration parser gives it. */
export interface VariableResourceNames {
  enable: boolean;
  patterns: string[];
}

/** The variable-resource-names element of a Kind, if its kind-block has one. */
export function variableResourceNames(def: KindDefinition | undefined): VariableResourceNames | undefined {
  const v = def?.params?.variableResourceNames as Partial<VariableResourceNames> | undefined;
  if (!v || typeof v !== 'object') return undefined;
  return { enable: v.enable === true, patterns: Array.isArray(v.patterns) ? v.patterns.filter((p): p is string => typeof p === 'string') : [] };
}

/**
 * Whether values of this Kind begin with a ResourceNameExtension: bound to `enable="true"`
 * (RFC 8076 §4.2, §5.3), whether or not a valid pattern is configured.
 */
export function namesEnabled(def: KindDefinition | undefined): boolean {
  return variableResourceNames(def)?.enable === true;
}

/** The valid patterns of an enabled Kind; invalid ones are ignored (RFC 8076 §5.3). */
export function patternsOf(def: KindDefinition | undefined): SharePattern[] {
  const v = variableResourceNames(def);
  if (!v?.enable) return [];
  const out: SharePattern[] = [];
  for (const src of v.patterns) {
    const p = compileSharePattern(src);
    if (p) out.push(p);
  }
  return out;
}

/** One entry of the ACL as the validation sees it. */
export interface AclRecord {
  /** Array index of the entry. */
  readonly index: number;
  /** The decoded item; undefined for a non-existent (revoked) entry. */
  readonly item: AccessControlListItem | undefined;
  /** User name of the signer's certificate, UTF-8 (empty if it has none). */
  readonly signerUser: Uint8Array;
  /** Node-ID the signer's SignerIdentity designates. */
  readonly signerNodeId: Uint8Array;
}

/** The ACL records of stored ACCESS-CONTROL-LIST values; values that do not decode are skipped. */
export function aclRecordsOf(values: readonly StoredValueView[], withNameExt: boolean): AclRecord[] {
  const out: AclRecord[] = [];
  for (const v of values) {
    if (v.data.value.model !== 'array') continue;
    const dv = v.data.value.value;
    let item: AccessControlListItem | undefined;
    if (dv.exists) {
      try {
        item = decodeAclItem(dv.value, withNameExt);
      } catch (err) {
        if (err instanceof DecodeError) continue;
        throw err;
      }
    }
    out.push({ index: v.data.value.index, item, signerUser: utf8(v.signer.certificate.userName ?? ''), signerNodeId: v.signer.nodeId });
  }
  return out;
}

/** Whether `user` is the Resource Owner. */
export type OwnerTest = (user: Uint8Array) => boolean;

/**
 * The Resource Owner test (RFC 8076 §6.6 rules 1-2): USER-MATCH, or a full pattern match of
 * the (hash-checked) Resource Name with the user's user and domain parts.
 */
export function ownerTest(hash: OverlayHash, resourceId: Uint8Array, resourceName: Uint8Array | undefined, patterns: readonly SharePattern[]): OwnerTest {
  let nameText: string | undefined;
  if (resourceName && patterns.length > 0 && bytesEqual(hash(resourceName), resourceId)) {
    try {
      nameText = fromUtf8(resourceName);
    } catch {
      nameText = undefined;
    }
  }
  return (user) => {
    if (user.length > 0 && bytesEqual(hash(user), resourceId)) return true;
    if (nameText === undefined) return false;
    let u: string;
    try {
      u = fromUtf8(user);
    } catch {
      return false;
    }
    return patterns.some((p) => p.matches(u, nameText!));
  };
}

export type ChainResult =
  /** `path` runs from the item granting the writer to the root item. */
  | { valid: true; path: AclRecord[] }
  | { valid: false; reason: string };

/**
 * ACL validation (RFC 8076 §6.3): is there a chain of items for Kind `kind` from one granting
 * `writer` (with allow_delegation when `writingAcl`) through grantors holding items with
 * allow_delegation, to a root item (to_user = its signer) signed by the Resource Owner?
 * Breadth-first over (user, needs-delegation); each is expanded once, so cycles end.
 */
export function delegationChain(writer: Uint8Array, kind: number, acl: readonly AclRecord[], isOwner: OwnerTest, writingAcl: boolean): ChainResult {
  const live = acl.filter((r) => r.item !== undefined && r.item.kind === kind);
  const queue: { user: Uint8Array; needAd: boolean; via: AclRecord[] }[] = [{ user: writer, needAd: writingAcl, via: [] }];
  const seen = new Set<string>();
  let grantedAtAll = false;
  while (queue.length > 0) {
    const n = queue.shift()!;
    const key = `${n.needAd ? 1 : 0}:${toHex(n.user)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const r of live) {
      const item = r.item!;
      if (!sameUser(item.toUser, n.user)) continue;
      if (n.via.length === 0) grantedAtAll = true;
      if (n.needAd && !item.allowDelegation) continue;
      const path = [...n.via, r];
      if (sameUser(item.toUser, r.signerUser)) {
        // A root item: it must be signed by the Resource Owner (§6.3 step 5).
        if (isOwner(r.signerUser)) return { valid: true, path };
        continue;
      }
      queue.push({ user: r.signerUser, needAd: true, via: path });
    }
  }
  const who = printable(writer);
  if (!grantedAtAll) return { valid: false, reason: `no ACL item grants ${who} write access to Kind ${kind}` };
  if (writingAcl && !live.some((r) => sameUser(r.item!.toUser, writer) && r.item!.allowDelegation)) {
    return { valid: false, reason: `${who} may not delegate Kind ${kind} (no item with allow_delegation)` };
  }
  return { valid: false, reason: `no delegation chain for ${who} reaches a root item of Kind ${kind} signed by the Resource Owner` };
}

/**
 * Is an ACL item valid by itself, i.e. would its signer be allowed to store it now? A root
 * item needs the Resource Owner as signer; another item needs its signer to be the owner or
 * to hold a chain with allow_delegation for the item's Kind.
 */
export function aclItemValid(r: AclRecord, acl: readonly AclRecord[], isOwner: OwnerTest): ChainResult {
  if (!r.item) return { valid: false, reason: 'a non-existent (revoked) entry' };
  if (isOwner(r.signerUser)) return { valid: true, path: [] };
  if (sameUser(r.item.toUser, r.signerUser)) return { valid: false, reason: `root item of Kind ${r.item.kind} not signed by the Resource Owner` };
  return delegationChain(r.signerUser, r.item.kind, acl, isOwner, true);
}

function printable(user: Uint8Array): string {
  try {
    return JSON.stringify(fromUtf8(user));
  } catch {
    return `0x${toHex(user)}`;
  }
}

// -----------------------------------------------------------------------------------------
// The write check, shared by storing peers (the policy) and fetching peers (§6.5).

/** Everything the write check needs about a resource; lazily computed parts are thunks. */
export interface WriteContext {
  readonly resourceId: Uint8Array;
  readonly hash: OverlayHash;
  /** The Kind of the value written (a USER-CHAIN-ACL Kind). */
  readonly kind: KindDefinition;
  /** Other Kinds (for ACCESS-CONTROL-LIST and the Kind an ACL item names). */
  kindOf(id: number): KindDefinition | undefined;
  /** The ACL at the resource. */
  acl(): readonly AclRecord[];
  /** Resource Names carried by values at the resource (candidates; hash-checked here). */
  otherNames(): Iterable<Uint8Array>;
  /** The entry the value replaces, when known (storing peers). */
  readonly existing?: { readonly signerUser: Uint8Array; readonly value: StoredDataValue } | undefined;
  /** Skip the chain check of ACL items (replica stores, see the module comment). */
  readonly skipAclItemChain?: boolean;
  /**
   * A fetching peer checks a value it read (RFC 8076 §6.5): what the value replaced is not
   * known, so an owner's value is accepted in any slot.
   */
  readonly fetched?: boolean;
}

/** The writer: user name (UTF-8) and the Node-ID its signature designates. */
export interface Writer {
  readonly user: Uint8Array;
  readonly nodeId: Uint8Array;
}

/** Why a write is refused, with the RFC 6940 error code to answer with. */
export class ShareRefusal extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ShareRefusal';
  }
}

function forbidden(msg: string): never {
  throw new ShareRefusal(ErrorCode.forbidden, `${USER_CHAIN_ACL_NAME}: ${msg}`);
}

function invalid(msg: string): never {
  throw new ShareRefusal(ErrorCode.invalidMessage, `${USER_CHAIN_ACL_NAME}: ${msg}`);
}

/** Decodes the item of an ACL value (exists = true), or refuses it as malformed. */
function itemOf(value: Uint8Array, withNameExt: boolean): AccessControlListItem {
  try {
    return decodeAclItem(value, withNameExt);
  } catch (err) {
    if (err instanceof DecodeError) invalid(`malformed AccessControlListItem: ${err.message}`);
    throw err;
  }
}

/** The Resource Name a value of `def` carries (exists = true), if any. */
export function carriedName(def: KindDefinition | undefined, value: Uint8Array, aclWithNameExt: boolean): Uint8Array | undefined {
  try {
    if (def?.id === ACCESS_CONTROL_LIST_KIND) return aclWithNameExt ? resourceNameOf(decodeAclItem(value, true).resNameExt) : undefined;
    if (!namesEnabled(def)) return undefined;
    return resourceNameOf(splitNamedValue(value).ext);
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

/**
 * Checks a write of `value` (array or dictionary entry of `ctx.kind`) by `writer`; throws
 * {@link ShareRefusal} (Error_Forbidden, or Error_Invalid_Message for a malformed value).
 * Returns whether the writer is the Resource Owner.
 */
export function checkSharedWrite(ctx: WriteContext, value: StoredDataValue, writer: Writer): { owner: boolean } {
  if (writer.user.length === 0) forbidden("the signer's certificate has no user name");
  if (value.model === 'single') forbidden('a shared Kind is an array or a dictionary (RFC 8076 §3.1)');
  const def = ctx.kind;
  const isAcl = def.id === ACCESS_CONTROL_LIST_KIND;
  const aclDef = isAcl ? def : ctx.kindOf(ACCESS_CONTROL_LIST_KIND);
  const aclNamed = namesEnabled(aclDef);
  const exists = value.value.exists;

  // What is written.
  let item: AccessControlListItem | undefined;
  let valueName: Uint8Array | undefined;
  if (exists) {
    if (isAcl) {
      item = itemOf(value.value.value, aclNamed);
      valueName = resourceNameOf(item.resNameExt);
    } else if (namesEnabled(def)) {
      try {
        valueName = resourceNameOf(splitNamedValue(value.value.value).ext);
      } catch (err) {
        if (err instanceof DecodeError) invalid(`Kind ${def.id} values begin with a ResourceNameExtension (RFC 8076 §3): ${err.message}`);
        throw err;
      }
    }
  }
  const existing = ctx.existing;
  const existingLive = existing !== undefined && existing.value.value.exists;
  const existingItem = isAcl && existingLive ? decodeQuietly(existing.value.value.value, aclNamed) : undefined;
  // The shared Kind this write is about.
  const sharedKind = isAcl ? (item?.kind ?? existingItem?.kind) : def.id;

  // The Resource Name, from any value that carries one and hashes to the Resource-ID.
  const named = (n: Uint8Array | undefined): n is Uint8Array => n !== undefined && bytesEqual(ctx.hash(n), ctx.resourceId);
  let resourceName: Uint8Array | undefined = named(valueName) ? valueName : undefined;
  if (!resourceName && existingLive) {
    const n = carriedName(def, existing.value.value.value, aclNamed);
    if (named(n)) resourceName = n;
  }
  if (!resourceName) {
    for (const n of ctx.otherNames()) {
      if (named(n)) {
        resourceName = n;
        break;
      }
    }
  }
  const sharedDef = sharedKind === undefined ? undefined : sharedKind === def.id ? def : ctx.kindOf(sharedKind);
  const patterns = [...patternsOf(sharedDef), ...patternsOf(aclDef), ...(sharedDef === def ? [] : patternsOf(def))];
  const isOwner = ownerTest(ctx.hash, ctx.resourceId, resourceName, patterns);
  const userMatch = bytesEqual(ctx.hash(writer.user), ctx.resourceId);
  const owner = isOwner(writer.user);

  // §6.6 rule 2: a named value of someone who is not the owner by USER-MATCH must name this resource.
  if (exists && !userMatch && (isAcl ? aclNamed : namesEnabled(def))) {
    if (!valueName) forbidden(`the value carries no pattern ResourceNameExtension (RFC 8076 §6.6)`);
    if (!named(valueName)) forbidden(`the hashed Resource Name is not the Resource-ID ${toHex(ctx.resourceId)} (RFC 8076 §6.6)`);
    // Whether the name is the owner's by a pattern is settled by the owner test below, for
    // the writer or for the signer of the chain's root item.
  }

  // §6.1, §6.2: an existing entry is overwritten only by its signer or the Resource Owner.
  if (existingLive && !sameUser(existing.signerUser, writer.user) && !owner) {
    forbidden(`the entry is signed by ${printable(existing.signerUser)}; only its signer or the Resource Owner may overwrite it`);
  }
  // §3.1: each writer writes its own key / index range (the owner may overwrite any entry).
  if (!(owner && (existing !== undefined || ctx.fetched === true))) {
    if (value.model === 'dictionary' && !bytesEqual(value.key, writer.nodeId)) {
      forbidden(`dictionary key ${toHex(value.key)} is not the signer's Node-ID ${toHex(writer.nodeId)} (RFC 8076 §3.1)`);
    }
    if (value.model === 'array' && !isIndexOf(value.index, writer.nodeId)) {
      forbidden(`array index 0x${value.index.toString(16)} is not in the signer's range (low 24 bits of ${toHex(writer.nodeId)}, RFC 8076 §3.1)`);
    }
  }
  // §4.2, §6.4: only the Resource Owner stores root items.
  if (item && sameUser(item.toUser, writer.user)) {
    if (!owner) forbidden(`only the Resource Owner stores a root item (to_user = signer) for Kind ${item.kind} (RFC 8076 §6.4)`);
    return { owner };
  }
  // §6.3: the owner needs no ACL.
  if (owner) return { owner };
  if (isAcl && ctx.skipAclItemChain) return { owner };
  // A non-existent value replacing no live ACL item grants nothing.
  if (sharedKind === undefined) return { owner };
  const chain = delegationChain(writer.user, sharedKind, ctx.acl(), isOwner, isAcl);
  if (!chain.valid) forbidden(chain.reason);
  return { owner };
}

function decodeQuietly(value: Uint8Array, withNameExt: boolean): AccessControlListItem | undefined {
  try {
    return decodeAclItem(value, withNameExt);
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

// -----------------------------------------------------------------------------------------
// The policy (storing peers, RFC 8076 §6.4, §6.6).

/** The Node-ID the SignerIdentity designates, provided the certificate holds it. */
function designatedNodeId(c: PolicyCheck): Uint8Array {
  const id = c.signer.nodeId;
  if (!c.signer.certificate.nodeIds.some((n) => bytesEqual(n, id))) forbidden(`Node-ID ${toHex(id)} is not in the signer's certificate`);
  return id;
}

function checkStore(c: PolicyCheck): void {
  const value = c.value;
  const existingView =
    value.model === 'array'
      ? c.stored.arrayEntry(c.kind.id, value.index)
      : value.model === 'dictionary'
        ? c.stored.dictionaryEntry(c.kind.id, value.key)
        : undefined;
  const kindOf = (id: number): KindDefinition | undefined => (id === c.kind.id ? c.kind : c.kinds?.get(id));
  const aclNamed = (): boolean => namesEnabled(kindOf(ACCESS_CONTROL_LIST_KIND));
  let acl: AclRecord[] | undefined;
  const ctx: WriteContext = {
    resourceId: c.resourceId,
    hash: c.hash,
    kind: c.kind,
    kindOf,
    acl: () => (acl ??= aclRecordsOf(c.stored.values(ACCESS_CONTROL_LIST_KIND), aclNamed())),
    *otherNames() {
      for (const k of c.stored.kinds()) {
        const def = kindOf(k);
        if (k !== ACCESS_CONTROL_LIST_KIND && !namesEnabled(def)) continue;
        for (const v of c.stored.values(k)) {
          if (!v.data.value.value.exists) continue;
          const n = carriedName(def, v.data.value.value.value, aclNamed());
          if (n) yield n;
        }
      }
    },
    existing: existingView ? { signerUser: utf8(existingView.signer.certificate.userName ?? ''), value: existingView.data.value } : undefined,
    skipAclItemChain: c.replicaNumber > 0,
  };
  try {
    checkSharedWrite(ctx, value, { user: utf8(c.signer.certificate.userName ?? ''), nodeId: designatedNodeId(c) });
  } catch (err) {
    if (err instanceof ShareRefusal) throw new ReloadError(err.errorCode, err.message);
    throw err;
  }
}

/**
 * USER-CHAIN-ACL (RFC 8076 §6.6): registered by the ShaRe usage; governs
 * ACCESS-CONTROL-LIST and every shared Kind (array or dictionary, §3.1).
 */
export const USER_CHAIN_ACL: AccessPolicy = {
  name: USER_CHAIN_ACL_NAME,
  omitRefusedReplicaValues: true,
  validateKind(kind) {
    if (kind.dataModel !== 'array' && kind.dataModel !== 'dictionary') {
      throw new Error(`a shared Kind uses the array or dictionary data model (RFC 8076 §3.1), not ${kind.dataModel}`);
    }
  },
  check: checkStore,
};
