/**
 * The usage plugin API (RFC 6940 §5.4 "Usage Layer"; ARCHITECTURE.md "Extension points").
 *
 * A usage declares Kinds (id, data model, access-control policy, limits, value validation),
 * may add access-control policies (ShaRe adds USER-CHAIN-ACL), and gets a small API once
 * the node runs: store/fetch/stat/find with signing and verification done for it,
 * AppAttach, application endpoints, and node events. A usage never reaches into routing
 * or sockets. The SIP, ShaRe and DisCo usages are built on exactly this API, as is a
 * user's own usage loaded with `reload-node start --usage ./my-usage.js`.
 *
 * @example
 * ```ts
 * const notes: UsagePlugin = {
 *   name: 'notes',
 *   kinds: [{ id: 0xf0000100, name: 'NOTES', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 64, maxSize: 4096 }],
 *   async start(api) {
 *     await api.store(api.userName!, 0xf0000100, [{ model: 'dictionary', key: api.nodeId, value: new TextEncoder().encode('hi') }]);
 *   },
 * };
 * ```
 */
import type { KeyObject } from 'node:crypto';
import type { CertificateIdentity } from '../../certs/identity.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { type KindDefinition, KindRegistrationError, type KindRegistry } from '../storage/kinds.js';
import type { AccessPolicy, PolicyRegistry } from '../storage/policies.js';
import type { Credentials } from '../security/credentials.js';
import type { IceCandidate } from '../wire/attach.js';
import type { Destination } from '../wire/destination.js';
import type { FindAns, StatAns, StoreAns, StoredDataSpecifier } from '../wire/storage.js';
import type { ValueToStore, VerifiedValue } from './data.js';
import type { ApplicationEndpoint, NodeEvent } from './node.js';

/** A Resource: by name (hashed with the overlay's hash) or by Resource-ID bytes. */
export type ResourceRef = string | { id: Uint8Array };

export interface StoreOptions {
  /** Lifetime of the values, seconds (default 3600). */
  lifetimeS?: number;
  /** Expected generation counter (0 = don't check). */
  generation?: bigint;
  /**
   * Store as another identity this process holds: the values and the StoreReq are signed
   * with these credentials (default: the node's own). For Kinds whose policy names the
   * writer, e.g. a SIP front end registering its users' AORs under USER-NODE-MATCH
   * (RFC 7904 §3.3), with the dictionary key being that identity's Node-ID.
   */
  as?: Credentials;
}

export interface FetchResult {
  kind: number;
  generation: bigint;
  /** Values whose signatures verified (and synthesized non-existent entries). */
  values: VerifiedValue[];
  /** Values dropped because their signature or certificate failed. */
  rejected: number;
  /** Node-ID of the peer that answered. */
  from: Uint8Array;
}

export interface UsageApi {
  readonly nodeId: Uint8Array;
  /** The user name in this node's certificate. */
  readonly userName: string | undefined;
  readonly overlay: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Resource-ID of a Resource Name (the overlay's hash). */
  resourceId(name: string | Uint8Array): Uint8Array;
  /** The Kind definition known to this node. */
  kind(id: number): KindDefinition | undefined;
  /** Signs and stores values of one Kind at a resource. */
  store(resource: ResourceRef, kind: number, values: ValueToStore[], opts?: StoreOptions): Promise<StoreAns>;
  /** Fetches and verifies values of one Kind (default: everything). */
  fetch(resource: ResourceRef, kind: number, specifier?: Partial<StoredDataSpecifier>): Promise<FetchResult>;
  stat(resource: ResourceRef, kind: number, specifier?: Partial<StoredDataSpecifier>): Promise<StatAns>;
  find(resource: ResourceRef, kinds: number[]): Promise<FindAns>;
  /** AppAttach (RFC 6940 §6.5.2) to the node at the end of `destinations`. */
  appAttach(destinations: Destination[], applicationId: number, candidates?: IceCandidate[]): Promise<{ from: Uint8Array; candidates: IceCandidate[] }>;
  /** Answers AppAttach requests for an Application-ID. */
  registerApplication(applicationId: number, endpoint: ApplicationEndpoint): void;
  /**
   * This node's certificate (DER) and private key, and the overlay's trust anchors (DER;
   * empty for an overlay of self-signed certificates), for a usage's own mutually
   * authenticated TLS connections, e.g. SIP after AppAttach (RFC 7904 §5.1).
   */
  tlsCredentials(): { certificate: Uint8Array; privateKey: KeyObject; ca: readonly Uint8Array[] };
  /**
   * Checks a certificate against the overlay's trust policy (chain to a root-cert or bound
   * self-signed, validity, bad-node list) and returns its identity (Node-IDs, user name);
   * throws CertificateError otherwise. E.g. to check that the peer of an application
   * connection is the node it AppAttached to.
   */
  checkCertificate(der: Uint8Array): CertificateIdentity;
  /** Node events (links, joined, left). Returns an unsubscribe function. */
  on(listener: (e: NodeEvent) => void): () => void;
  /** The peers this node knows (neighbors and fingers), for proximity-aware choices. */
  knownPeers(): Uint8Array[];
}

export interface UsagePlugin {
  /** Unique name; it is the `source` of the Kinds this usage registers. */
  readonly name: string;
  /** Access-control policies this usage defines (registered before any Kind). */
  readonly policies?: readonly AccessPolicy[];
  /** Kinds this usage defines. */
  readonly kinds?: readonly Omit<KindDefinition, 'source'>[];
  /** Called once the node has joined the overlay. */
  start?(api: UsageApi): void | Promise<void>;
  /** Called before the node leaves or stops. */
  stop?(): void | Promise<void>;
  /**
   * What this usage shows on the node's status page (`reload-node start --status`), called
   * on every refresh (keep it cheap). Plain JSON values; see {@link UsageStatus}.
   */
  status?(): UsageStatus | Promise<UsageStatus>;
}

/**
 * A usage's section of the status page. `conferences` has a fixed shape the page draws as
 * the conferences this peer serves as a focus, with their rosters (the DisCo usage fills
 * it); every other field is shown as a key/value table under the usage's name.
 */
export interface UsageStatus {
  /** Section title (default: the usage name). */
  title?: string;
  /** Conferences this peer serves as a focus. */
  conferences?: ConferenceStatus[];
  [field: string]: unknown;
}

export interface ConferenceStatus {
  /** The conference URI, e.g. sip:team@overlay.example. */
  uri: string;
  /** Roster: the participants currently in the conference. */
  roster: { user: string; state?: string; [field: string]: unknown }[];
  [field: string]: unknown;
}

export class UsageLoadError extends Error {
  readonly code = 'ERR_RELOAD_USAGE';
  constructor(
    readonly usage: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`usage "${usage}": ${message}`, options);
    this.name = 'UsageLoadError';
  }
}

/**
 * Registers usages' policies (phase 'policies') or Kinds (phase 'kinds'). A clashing
 * Kind-ID, an invalid data model or an unknown policy is refused with a UsageLoadError
 * naming the usage and the problem.
 */
export function installUsages(
  usages: readonly UsagePlugin[],
  into: { kinds: KindRegistry; policies: PolicyRegistry; phase: 'policies' | 'kinds' },
): void {
  const names = new Set<string>();
  for (const u of usages) {
    if (!u || typeof u.name !== 'string' || u.name === '') throw new UsageLoadError('?', 'a usage needs a name');
    if (names.has(u.name)) throw new UsageLoadError(u.name, 'loaded twice');
    names.add(u.name);
    if (into.phase === 'policies') {
      for (const p of u.policies ?? []) {
        if (into.policies.has(p.name)) continue;
        try {
          into.policies.register(p);
        } catch (err) {
          throw new UsageLoadError(u.name, (err as Error).message, { cause: err });
        }
      }
      continue;
    }
    for (const k of u.kinds ?? []) {
      // A Kind the overlay configuration also defines (e.g. ACCESS-CONTROL-LIST in a
      // kind-block): the configuration's max-count / max-size govern the overlay (RFC 6940
      // §11.1); the usage must still agree on the data model and policy.
      const configured = into.kinds.get(k.id);
      const limits =
        configured?.source === 'config'
          ? { maxCount: configured.maxCount, maxSize: configured.maxSize, ...(configured.maxNodeMultiple !== undefined ? { maxNodeMultiple: configured.maxNodeMultiple } : {}) }
          : {};
      try {
        into.kinds.register({ ...k, ...limits, source: u.name });
      } catch (err) {
        const why = err instanceof KindRegistrationError ? `${err.reason}: ${err.message}` : (err as Error).message;
        throw new UsageLoadError(u.name, `Kind ${k.id ?? '?'} refused (${why})`, { cause: err });
      }
    }
  }
}
