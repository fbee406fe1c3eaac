/**
 * Access-control policies (RFC 6940 §7.3; behaviour digest §3.7) as plugins. A policy
 * decides whether a signer may write a value at a Resource-ID; usages add their own (ShaRe's
 * USER-CHAIN-ACL, RFC 8076 §6.6) to the {@link PolicyRegistry}. The storing peer runs the
 * Kind's policy for the signer of every StoredData and, on original stores
 * (replica_number 0), for the signer of the StoreReq as well (RFC 6940 §7.4.1.1 steps 4-5).
 */
import { ReloadError } from '../common/errors.js';
import { bytesEqual, concatBytes, toHex, utf8 } from '../wire/codec.js';
import type { Signature } from '../wire/security-block.js';
import type { StoredData, StoredDataValue } from '../wire/storage.js';
import type { SignerInfo } from '../security/verifier.js';
import type { KindDefinition } from './kinds.js';

/** A StoredData of a Kind whose data model is known (it has a value and a signature). */
export type KnownStoredData = Extract<StoredData, { signature: Signature }>;

/** The overlay's hash for Resource-IDs (CHORD-RELOAD: SHA-1 truncated to 128 bits). */
export type OverlayHash = (data: Uint8Array) => Uint8Array;

/** A value held by the store, with who signed it. */
export interface StoredValueView {
  readonly kind: number;
  /** The StoredData as stored: array entries carry their real index. */
  readonly data: KnownStoredData;
  /** The signer resolved when the value was stored. */
  readonly signer: SignerInfo;
}

/**
 * A read-only view of what a Resource-ID holds, every Kind, values not expired. During a
 * Store it shows the stored state plus the values of the same request processed before the
 * one being checked (request order), so a usage can store an ACL and the data it governs
 * in one StoreReq.
 */
export interface ResourceView {
  readonly resourceId: Uint8Array;
  /** Kinds with at least one value here. */
  kinds(): number[];
  /** The values of a Kind (array: ascending index; dictionary: ascending key bytes). */
  values(kind: number): readonly StoredValueView[];
  single(kind: number): StoredValueView | undefined;
  arrayEntry(kind: number, index: number): StoredValueView | undefined;
  dictionaryEntry(kind: number, key: Uint8Array): StoredValueView | undefined;
}

/** What a usage's value validation hook ({@link KindDefinition.validate}) is given. */
export interface ValueCheck {
  readonly resourceId: Uint8Array;
  readonly kind: KindDefinition;
  /** The StoredData being written (an appended array entry carries its assigned index). */
  readonly storedData: KnownStoredData;
  /** Signer of the StoredData. */
  readonly valueSigner: SignerInfo;
  /** Signer of the StoreReq. */
  readonly requestSigner: SignerInfo;
  /** 0 = original store, > 0 = replica store. */
  readonly replicaNumber: number;
  readonly hash: OverlayHash;
  readonly stored: ResourceView;
  /**
   * The Kinds this node knows (e.g. ShaRe reads the ACCESS-CONTROL-LIST kind-block while
   * checking a shared Kind). Absent when a check is built outside a DataStore.
   */
  readonly kinds?: { get(id: number): KindDefinition | undefined };
}

/** What a policy checks: may `signer` write `value` at `resourceId`? */
export interface PolicyCheck extends ValueCheck {
  /** The value being written (an appended array entry carries its assigned index). */
  readonly value: StoredDataValue;
  /** The signer to authorize: the value's signer, or on original stores also the request's. */
  readonly signer: SignerInfo;
  readonly role: 'value' | 'request';
}

export interface AccessPolicy {
  /** The policy name the configuration uses (RFC 6940 §14.4 registry), e.g. 'USER-MATCH'. */
  readonly name: string;
  /** Throws ReloadError (Error_Forbidden) when the signer may not write the value. */
  check(args: PolicyCheck): void;
  /** Refuses a Kind this policy cannot govern (throws an Error with the reason). */
  validateKind?(kind: KindDefinition): void;
  /**
   * Replica stores only: when true, a value this policy refuses with Error_Forbidden is left
   * out of the replica instead of failing the whole StoreReq. For policies whose verdict
   * depends on other stored data that may change after the original store (ShaRe's ACL
   * chains, RFC 8076 §6.2 revocation), so one stale value does not block the replication of
   * the whole resource. Default false: a refused value fails the replica store.
   */
  readonly omitRefusedReplicaValues?: boolean;
}

export class PolicyRegistrationError extends Error {
  readonly code = 'ERR_RELOAD_POLICY';
  constructor(
    readonly policyName: string,
    message: string,
  ) {
    super(`access-control policy ${policyName}: ${message}`);
    this.name = 'PolicyRegistrationError';
  }
}

/** The Node-ID the SignerIdentity designates, provided the certificate really holds it. */
function designatedNodeId(signer: SignerInfo): Uint8Array {
  const id = signer.nodeId;
  if (!signer.certificate.nodeIds.some((n) => bytesEqual(n, id))) {
    throw ReloadError.forbidden(`Node-ID ${toHex(id)} is not in the signer's certificate`);
  }
  return id;
}

function userNameHashMatches(c: PolicyCheck): void {
  const user = c.signer.certificate.userName;
  if (user === undefined) throw ReloadError.forbidden(`${c.kind.accessControl}: the signer's certificate has no user name`);
  // UNCONFIRMED (behaviour digest §3.7): the user name is hashed as its UTF-8 bytes.
  if (!bytesEqual(c.hash(utf8(user)), c.resourceId)) {
    throw ReloadError.forbidden(`${c.kind.accessControl}: Hash(${user}) is not Resource-ID ${toHex(c.resourceId)}`);
  }
}

/** USER-MATCH (RFC 6940 §7.3.1): Hash(user name of the signer) == Resource-ID. */
export const USER_MATCH: AccessPolicy = {
  name: 'USER-MATCH',
  check: userNameHashMatches,
};

/**
 * NODE-MATCH (RFC 6940 §7.3.2): Hash(Node-ID) == Resource-ID, for the Node-ID the
 * SignerIdentity designates (one of the certificate's).
 */
export const NODE_MATCH: AccessPolicy = {
  name: 'NODE-MATCH',
  check(c) {
    const id = designatedNodeId(c.signer);
    if (!bytesEqual(c.hash(id), c.resourceId)) {
      throw ReloadError.forbidden(`NODE-MATCH: Hash(${toHex(id)}) is not Resource-ID ${toHex(c.resourceId)}`);
    }
  },
};

/**
 * USER-NODE-MATCH (RFC 6940 §7.3.3): dictionary Kinds only; Hash(user name) == Resource-ID
 * and the dictionary key is the Node-ID the SignerIdentity designates.
 */
export const USER_NODE_MATCH: AccessPolicy = {
  name: 'USER-NODE-MATCH',
  validateKind(kind) {
    if (kind.dataModel !== 'dictionary') throw new Error(`applies to dictionary Kinds only, not ${kind.dataModel}`);
  },
  check(c) {
    if (c.value.model !== 'dictionary') throw ReloadError.forbidden('USER-NODE-MATCH: value is not a dictionary entry');
    userNameHashMatches(c);
    const id = designatedNodeId(c.signer);
    if (!bytesEqual(c.value.key, id)) {
      throw ReloadError.forbidden(`USER-NODE-MATCH: dictionary key ${toHex(c.value.key)} is not the signer's Node-ID ${toHex(id)}`);
    }
  },
};

/** Largest i NODE-MULTIPLE can try: i is encoded as one byte. */
export const NODE_MULTIPLE_MAX_I = 255;

/**
 * The Resource-ID NODE-MULTIPLE accepts for iteration i: Hash(Node-ID || i).
 *
 * UNCONFIRMED (behaviour digest §3.7, RFC 6940 §7.3.4 does not fix it): i is encoded as ONE
 * byte (uint8), like TurnServer.iteration, the only place the RFC gives i a wire type. The
 * TURN usage must derive its Resource-IDs with this same function.
 */
export function nodeMultipleResourceId(hash: OverlayHash, nodeId: Uint8Array, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i > NODE_MULTIPLE_MAX_I) throw new RangeError(`NODE-MULTIPLE i must be 0..255, got ${i}`);
  return hash(concatBytes(nodeId, Uint8Array.of(i)));
}

/** Node-IDs whose NODE-MULTIPLE Resource-IDs are remembered, per overlay hash. */
const NODE_MULTIPLE_MEMO_ENTRIES = 4096;
const nodeMultipleMemo = new WeakMap<OverlayHash, Map<string, Uint8Array[]>>();

/**
 * Hash(Node-ID || i) for i = 1, 2, ... as computed so far (the caller extends the list). The
 * check tries every i on each store (up to three times per Store transaction with its
 * replicas), so the hashes are kept per Node-ID; an OverlayHash is a pure function.
 */
function nodeMultipleIds(hash: OverlayHash, nodeId: Uint8Array): Uint8Array[] {
  let byNode = nodeMultipleMemo.get(hash);
  if (!byNode) nodeMultipleMemo.set(hash, (byNode = new Map()));
  const key = toHex(nodeId);
  let ids = byNode.get(key);
  if (!ids) {
    if (byNode.size >= NODE_MULTIPLE_MEMO_ENTRIES) byNode.delete(byNode.keys().next().value!);
    byNode.set(key, (ids = []));
  }
  return ids;
}

/**
 * NODE-MULTIPLE (RFC 6940 §7.3.4): Hash(Node-ID || i) == Resource-ID for some
 * i in 1..max-node-multiple, Node-ID being the one the SignerIdentity designates. i is not on
 * the wire, so every i is tried. The lower bound 1 follows the TURN usage (d = 1..turn-density).
 */
export const NODE_MULTIPLE: AccessPolicy = {
  name: 'NODE-MULTIPLE',
  validateKind(kind) {
    const m = kind.maxNodeMultiple;
    if (m === undefined || !Number.isInteger(m) || m < 1 || m > NODE_MULTIPLE_MAX_I) {
      throw new Error(`needs max-node-multiple in 1..${NODE_MULTIPLE_MAX_I}, got ${m}`);
    }
  },
  check(c) {
    const id = designatedNodeId(c.signer);
    const max = c.kind.maxNodeMultiple ?? 0;
    const ids = nodeMultipleIds(c.hash, id);
    for (let i = 1; i <= max; i++) {
      if (ids.length < i) ids.push(nodeMultipleResourceId(c.hash, id, i));
      if (bytesEqual(ids[i - 1]!, c.resourceId)) return;
    }
    throw ReloadError.forbidden(`NODE-MULTIPLE: no i in 1..${max} with Hash(${toHex(id)} || i) = Resource-ID ${toHex(c.resourceId)}`);
  },
};

/** The four policies of RFC 6940 §7.3. */
export const STANDARD_POLICIES: readonly AccessPolicy[] = Object.freeze([USER_MATCH, NODE_MATCH, USER_NODE_MATCH, NODE_MULTIPLE]);

export class PolicyRegistry {
  private readonly byName = new Map<string, AccessPolicy>();

  /** Starts with the RFC 6940 policies unless `standard` is false. */
  constructor(opts: { standard?: boolean } = {}) {
    if (opts.standard !== false) for (const p of STANDARD_POLICIES) this.register(p);
  }

  /** Adds a policy; a name already taken by another policy object is refused. */
  register(policy: AccessPolicy): void {
    if (typeof policy?.name !== 'string' || !/^[A-Za-z0-9-]+$/.test(policy.name) || typeof policy.check !== 'function') {
      throw new PolicyRegistrationError(String(policy?.name), 'a policy needs a name (letters, digits, "-") and a check function');
    }
    const key = policy.name.toUpperCase();
    const existing = this.byName.get(key);
    if (existing && existing !== policy) throw new PolicyRegistrationError(policy.name, 'a different policy already has this name');
    this.byName.set(key, policy);
  }

  /** Policy names are case-insensitive (the configuration writes them in upper case). */
  get(name: string): AccessPolicy | undefined {
    return this.byName.get(name.toUpperCase());
  }

  has(name: string): boolean {
    return this.byName.has(name.toUpperCase());
  }

  names(): string[] {
    return [...this.byName.values()].map((p) => p.name);
  }
}
