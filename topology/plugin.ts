/**
 * The topology plugin interface (RFC 6940 §5.1, ARCHITECTURE.md "Extension points").
 *
 * A topology decides who is responsible for an id and where to send a message next, runs
 * its own maintenance (join, stabilisation, leave), names the replica set of a
 * Resource-ID and handles the overlay-specific methods (Join, Update, Leave, RouteQuery,
 * Probe). The node gives it a small {@link TopologyHost} for sending requests, making
 * connections and moving stored data; it never touches sockets or the wire codec beyond
 * its own overlay-specific bodies.
 *
 * A second topology is added by implementing this interface and registering a factory
 * under its configuration name (topology-plugin element) in topology/index.ts.
 */
import type { Clock } from '../src/common/clock.js';
import type { Random } from '../src/common/random.js';
import type { Destination } from '../src/wire/destination.js';
import type { StoreKindData } from '../src/wire/storage.js';

/** An incoming request as the topology sees it. */
export interface TopologyRequest {
  code: number;
  body: Uint8Array;
  /** Node-ID of the signer (verified). */
  from: Uint8Array;
  /** Whether it arrived directly from the signer (empty via list, single hop). */
  direct: boolean;
  /** Opaque handle of the link it arrived on. */
  connectionId: string;
}

/** What the node offers to its topology plugin. */
export interface TopologyHost {
  readonly nodeId: Uint8Array;
  readonly nodeIdLength: number;
  readonly clock: Clock;
  readonly random: Random;
  /** Whether this node is a peer (routes and stores) or a client. */
  readonly isPeer: boolean;
  /**
   * Sends a request and resolves with the answer body; rejects with ReloadError(…)
   * (remote error response or timeout).
   */
  request(destinations: Destination[], code: number, body: Uint8Array): Promise<{ body: Uint8Array; from: Uint8Array }>;
  /**
   * Attaches to the node responsible for `dest` (a Node-ID or Resource-ID; an optional
   * source route prefix goes before it), making a direct link. Resolves with the Node-ID
   * of the node that answered, once the link is up.
   */
  attach(dest: Destination, via?: Destination[], sendUpdate?: boolean): Promise<Uint8Array>;
  /** Node-IDs with a live link (the Connection Table). */
  connectedPeers(): Uint8Array[];
  isConnected(nodeId: Uint8Array): boolean;
  /**
   * Whether the link to `nodeId` carries the failure hint (RFC 6940 §6.6.3.2): still
   * connected, but out of the routing table until its acks resume (`onLinkHint`).
   */
  isSuspect(nodeId: Uint8Array): boolean;
  /** Closes the link to a node (e.g. no longer needed). */
  disconnect(nodeId: Uint8Array): void;
  /** Local store access for replication and migration (RFC 6940 §7 / §9.7.3). */
  storage: {
    resources(): Uint8Array[];
    /** The data for a Resource-ID as StoreReq kind data (lifetimes reduced by time held). */
    export(resourceId: Uint8Array): StoreKindData[];
    drop(resourceId: Uint8Array): void;
    numResources(): number;
  };
  /**
   * Sends a replica/migration StoreReq for `resourceId` to `nodeId`. Rejects with a
   * ReloadErrorResponse when the receiver answered with an error, with another error when
   * no answer came. A receiver responsible for the resource that learns values from it,
   * sent by a peer outside its replica set (a hand-over of data the sender drops), copies
   * them on to its replica set.
   */
  replicate(nodeId: Uint8Array, resourceId: Uint8Array, replicaNumber: number): Promise<void>;
  /** Seconds since this node started (Update uptime). */
  uptimeSeconds(): number;
  log(level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

export interface NeighbourSnapshot {
  predecessors: Uint8Array[];
  successors: Uint8Array[];
  fingers: Uint8Array[];
}

export interface TopologyPlugin {
  /** The configuration's topology-plugin name, e.g. "CHORD-RELOAD". */
  readonly name: string;
  /** The overlay's Resource-ID of a Resource Name (CHORD: SHA-1 truncated). */
  resourceId(name: Uint8Array): Uint8Array;
  /** Whether this peer is responsible for `id` (a Resource-ID or Node-ID value). */
  isResponsible(id: Uint8Array): boolean;
  /**
   * The connected peer to send a message for `id` to next (RFC 6940 §6.1.2, CHORD §9.3),
   * or undefined when no peer is known.
   */
  nextHop(id: Uint8Array): Uint8Array | undefined;
  /** The replica set for a Resource-ID this peer is responsible for (CHORD: 2 successors). */
  replicaSet(resourceId: Uint8Array): Uint8Array[];
  /**
   * Whether `responder` could plausibly be responsible for `resourceId` from this node's
   * view (RFC 6940 §6.2.1 response check): no node in our neighbour table is closer.
   */
  plausibleResponder(resourceId: Uint8Array, responder: Uint8Array): boolean;
  /**
   * Whether a replica Store from `sender` for `resourceId` is acceptable here (RFC 6940
   * §7.4.1.1 step 1/5 for replica_number > 0).
   */
  acceptsReplicaFrom(resourceId: Uint8Array, sender: Uint8Array): boolean;
  /** Handles Join, Update, Leave, RouteQuery and Probe (answer body, or throws ReloadError). */
  handle(req: TopologyRequest): Promise<Uint8Array>;
  /**
   * Link events from the node. `sendUpdate` is set when the link came from an Attach
   * whose send_update flag asks us to send the requester an Update (RFC 6940 §6.5.1).
   */
  onConnectionUp(nodeId: Uint8Array, opts?: { sendUpdate?: boolean }): void;
  onConnectionDown(nodeId: Uint8Array): void;
  /**
   * The link to `nodeId` became suspect (route around it) or was restored (RFC 6940
   * §6.6.3.2). A link that fails for good is reported by `onConnectionDown`.
   */
  onLinkHint?(nodeId: Uint8Array, hint: 'suspect' | 'restored'): void;
  /** Joins the overlay (peers) through the given bootstrap connection, or starts alone. */
  start(opts: { bootstrapPeer?: Uint8Array; first: boolean }): Promise<void>;
  /** Leaves gracefully (Leave to neighbours), then stops timers. */
  leave(): Promise<void>;
  /** Stops timers without leaving (crash or test teardown). */
  stop(): void;
  /** Current neighbour and finger tables (status page, diagnostics, tests). */
  snapshot(): NeighbourSnapshot;
  /** Share of the ring this peer is responsible for, parts per billion (Probe). */
  responsiblePpb(): number;
  /** Called when the set of ids this peer is responsible for changes. */
  onResponsibilityChanged?: () => void;
}

export type TopologyFactory = (host: TopologyHost, params: Record<string, unknown>) => TopologyPlugin;
