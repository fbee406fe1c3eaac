/**
 * Liveness of a running node (issues #3/#5): a Ping on links that went quiet, and rejoining
 * the overlay through the bootstrap list when no usable link to another peer is left.
 *
 * **Idle links.** Decision: the link layer detects a silent peer only while it has
 * traffic for it. On a datagram link (UDP Simple Reliability) a message goes unacked for
 * five transmissions and the link closes (RFC 6940 §6.6.3.2); on a stream link (TLS/TCP
 * with the framed header) a frame unacked for max(RTO, 1 s) makes the link suspect and
 * STREAM_FAILURE_HOLD_MS (30 s) of unacked traffic closes it. A peer that dies without
 * its connection closing (a host crash, a partition; the simulator's `kill`) is therefore
 * never noticed on a link that carries nothing. CHORD's neighbor refresh (RFC 6940 §10.7.4.1:
 * an Update to every neighbor each chord-update-interval, ~600 s by default) puts traffic
 * on neighbor links, but fingers, clients' links and the links to clients can stay idle
 * indefinitely: a finger then points at a dead peer until a message is routed through it,
 * and a client's only link may lead nowhere. A lost neighbor is found by connectivity pings
 * or failed requests (RFC 6940 §10.7.1, behaviour digest §7.7), and No-ICE links have no
 * STUN keepalives (behaviour digest §5.3): so a link from which nothing arrived for
 * `idlePingMs` gets a RELOAD Ping (§6.5.3) over it. Its frame is enough: an answer proves the peer alive, no framing ack
 * turns the link suspect and, after the hold, closes it. One tick of `tickMs` checks all
 * links; a link with a message received within `idlePingMs` costs nothing.
 *
 * **Rejoin.** RFC 6940 §10.7.1 (behaviour digest §7.7): a peer that lost all its
 * successors behaves like a joining node; one that lost all fingers assumes it is
 * disconnected and rejoins periodically. Here: a node with no usable link (open, not
 * suspect) to any peer of its routing table — for a client, to its gateway peer — for
 * `rejoinGraceMs` runs the bootstrap procedure again over its bootstrap list (its own
 * addresses left out), with exponential backoff and jitter between rounds, until it has
 * joined or the node stops. The overlay's first node with no other bootstrap node is alone
 * by design and never retries; one whose list names other nodes tries them like any peer.
 * Every timer goes through the node's Clock.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { Random } from '../common/random.js';
import type { LinkAddress, TransportKind } from '../link/types.js';
import { type LinkEntry, nodeIdKey } from '../routing/connection-table.js';
import { toHex } from '../wire/codec.js';

/** Period of the liveness check, ms. */
export const LIVENESS_TICK_MS = 5_000;
/** A link from which no message arrived for this long gets a Ping, ms. */
export const LINK_IDLE_PING_MS = 60_000;
/** Time without a usable link to another peer before the first rejoin round, ms. */
export const REJOIN_GRACE_MS = 10_000;
/** Wait after the first failed rejoin round, ms; doubles each round. */
export const REJOIN_BACKOFF_INITIAL_MS = 5_000;
/** Ceiling of the wait between rejoin rounds, ms. */
export const REJOIN_BACKOFF_MAX_MS = 300_000;

/** Tunables of {@link NodeLiveness}; every field has its default above. */
export interface LivenessOptions {
  /** @default LIVENESS_TICK_MS (5 000) */
  tickMs: number;
  /** 0 turns the idle Ping off. @default LINK_IDLE_PING_MS (60 000) */
  idlePingMs: number;
  /** @default REJOIN_GRACE_MS (10 000) */
  rejoinGraceMs: number;
  /** @default REJOIN_BACKOFF_INITIAL_MS (5 000) */
  rejoinBackoffInitialMs: number;
  /** @default REJOIN_BACKOFF_MAX_MS (300 000) */
  rejoinBackoffMaxMs: number;
}

export const LIVENESS_DEFAULTS: LivenessOptions = {
  tickMs: LIVENESS_TICK_MS,
  idlePingMs: LINK_IDLE_PING_MS,
  rejoinGraceMs: REJOIN_GRACE_MS,
  rejoinBackoffInitialMs: REJOIN_BACKOFF_INITIAL_MS,
  rejoinBackoffMaxMs: REJOIN_BACKOFF_MAX_MS,
};

/** A bootstrap node as the node's init names it. */
export interface BootstrapNode {
  kind: TransportKind;
  address: LinkAddress;
}

/** What the node reports about isolation and rejoining (part of NodeEvent). */
export type LivenessEvent =
  /** No usable link to another peer is left (emitted once per isolation). */
  | { type: 'isolated' }
  /** A rejoin round succeeded: `via` is the admitting peer (the gateway, for a client). */
  | { type: 'rejoined'; attempt: number; via: Uint8Array }
  /** A rejoin round failed on every bootstrap node; the next one starts in `retryInMs`. */
  | { type: 'rejoin-failed'; attempt: number; error: string; retryInMs: number };

/** What {@link NodeLiveness} needs from the node. */
export interface LivenessHost {
  clock: Clock;
  random: Random;
  log: Logger;
  isPeer: boolean;
  /** The Connection Table's links. */
  links(): Iterable<LinkEntry>;
  /** Peers: the Node-IDs in the topology's routing table (neighbors and fingers). */
  routingPeers(): Uint8Array[];
  /** Clients: the link to the peer they route through. */
  gateway(): LinkEntry | undefined;
  /** Sends a Ping over `link` to the node at its other end. */
  ping(link: LinkEntry): Promise<void>;
  /** Bootstrap nodes to rejoin through (the node's own addresses already left out). */
  bootstrapNodes(): readonly BootstrapNode[];
  /** Runs the bootstrap procedure through one node, then the topology's join; resolves with the admitting peer. */
  rejoinThrough(node: BootstrapNode): Promise<Uint8Array>;
  emit(event: LivenessEvent): void;
}

export class NodeLiveness {
  readonly options: LivenessOptions;
  private tickTimer: TimerHandle | undefined;
  private attemptTimer: TimerHandle | undefined;
  private readonly pinging = new WeakSet<LinkEntry>();
  private isolatedSince: number | undefined;
  private attempts = 0;
  private rejoining = false;
  private stopped = true;
  /** Idle-link Pings sent, rejoin rounds run (status, tests). */
  readonly counters = { idlePings: 0, rejoinRounds: 0, rejoins: 0 };

  constructor(
    private readonly host: LivenessHost,
    options: Partial<LivenessOptions> = {},
  ) {
    this.options = { ...LIVENESS_DEFAULTS, ...options };
    for (const [k, v] of Object.entries(this.options)) {
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new RangeError(`liveness ${k} must be a number ≥ 0, got ${String(v)}`);
    }
    if (!(this.options.tickMs > 0)) throw new RangeError('liveness tickMs must be positive');
  }

  /** Whether the node is cut off now (see the module comment). */
  get isolated(): boolean {
    return this.isolatedSince !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.tickTimer?.cancel();
    this.attemptTimer?.cancel();
    this.tickTimer = this.attemptTimer = undefined;
  }

  private arm(): void {
    this.tickTimer = this.host.clock.setTimeout(() => {
      this.tickTimer = undefined;
      if (this.stopped) return;
      this.pingIdleLinks();
      this.evaluate();
      if (!this.stopped) this.arm();
    }, this.options.tickMs);
  }

  private pingIdleLinks(): void {
    const idle = this.options.idlePingMs;
    if (idle <= 0) return;
    const now = this.host.clock.monotonic();
    for (const link of this.host.links()) {
      if (!link.connection.open || now - link.lastSeen < idle || this.pinging.has(link)) continue;
      this.pinging.add(link);
      this.counters.idlePings++;
      this.host
        .ping(link)
        .catch((err: Error) => this.host.log.debug('idle link Ping failed', { link: link.connection.id, error: err.message }))
        .finally(() => this.pinging.delete(link));
    }
  }

  /** No open, non-suspect link to a peer of the routing table (clients: to the gateway). */
  private cutOff(): boolean {
    if (!this.host.isPeer) {
      const g = this.host.gateway();
      return !g || !g.connection.open || g.suspect;
    }
    // Runs every tick on every node (10,000 of them in the simulator): the Connection
    // Table's Latin-1 keys, one native call each, rather than hex strings.
    let peers: Set<string> | undefined;
    for (const link of this.host.links()) {
      if (!link.nodeId || link.suspect || !link.connection.open) continue;
      peers ??= new Set(this.host.routingPeers().map(nodeIdKey));
      if (peers.has(nodeIdKey(link.nodeId))) return false;
    }
    return true;
  }

  private evaluate(): void {
    if (this.rejoining || this.stopped) return;
    if (!this.cutOff()) {
      if (this.isolatedSince !== undefined) this.host.log.info('links to the overlay are back');
      this.isolatedSince = undefined;
      this.attempts = 0;
      this.attemptTimer?.cancel();
      this.attemptTimer = undefined;
      return;
    }
    if (this.isolatedSince !== undefined) return;
    this.isolatedSince = this.host.clock.monotonic();
    const through = this.host.bootstrapNodes();
    if (through.length === 0) {
      // The overlay's first node with no other bootstrap node: alone by design.
      this.host.log.debug('no link to another peer and no other bootstrap node: alone');
      return;
    }
    this.host.log.warn('no usable link to any other peer', { bootstrapNodes: through.length, rejoinInMs: this.options.rejoinGraceMs });
    this.host.emit({ type: 'isolated' });
    this.schedule(this.options.rejoinGraceMs);
  }

  private schedule(ms: number): void {
    this.attemptTimer?.cancel();
    this.attemptTimer = this.host.clock.setTimeout(() => {
      this.attemptTimer = undefined;
      void this.rejoin();
    }, ms);
  }

  /** One rejoin round: each bootstrap node in turn until one admits us. */
  private async rejoin(): Promise<void> {
    if (this.stopped || this.rejoining) return;
    if (!this.cutOff()) {
      this.evaluate();
      return;
    }
    this.rejoining = true;
    this.attempts++;
    this.counters.rejoinRounds++;
    const attempt = this.attempts;
    let lastError: Error | undefined;
    try {
      for (const b of this.host.bootstrapNodes()) {
        if (this.stopped) return;
        const address = `${b.address.host}:${b.address.port}`;
        this.host.log.info('rejoining through a bootstrap node', { address, attempt });
        try {
          const via = await this.host.rejoinThrough(b);
          if (this.stopped) return;
          this.counters.rejoins++;
          this.host.log.info('rejoined the overlay', { address, attempt, via: toHex(via) });
          this.isolatedSince = undefined;
          this.attempts = 0;
          this.host.emit({ type: 'rejoined', attempt, via });
          return;
        } catch (err) {
          lastError = err as Error;
          this.host.log.debug('rejoin through bootstrap node failed', { address, attempt, error: lastError.message });
        }
      }
      if (this.stopped) return;
      // Exponential backoff with ±25 % jitter, so peers cut off together do not retry in step.
      const base = Math.min(this.options.rejoinBackoffMaxMs, this.options.rejoinBackoffInitialMs * 2 ** (attempt - 1));
      const retryInMs = Math.round(base * (0.75 + 0.5 * this.host.random.float()));
      const error = lastError?.message ?? 'no bootstrap node';
      this.host.log.warn('rejoin failed', { attempt, error, retryInMs });
      this.host.emit({ type: 'rejoin-failed', attempt, error, retryInMs });
      this.schedule(retryInMs);
    } finally {
      this.rejoining = false;
    }
  }
}
