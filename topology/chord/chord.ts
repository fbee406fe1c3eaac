/**
 * CHORD-RELOAD (RFC 6940 §9): the mandatory topology plugin.
 *
 * - Ring of 2^128 ids; peer x with predecessor p is responsible for (p, x] (§9.1).
 * - Neighbor table (successors and predecessors, each peer linked) and finger table
 *   (finger i in [x + 2^(128-i), x + 2^(128-i+1)) ) make the routing table (§9.2/§9.3).
 * - Joining through an admitting peer with Attach, Update, Join (§9.4), Updates with
 *   reactive recovery (§9.5-§9.6), replication to two successors and data migration when
 *   responsibility moves (§9.7.3-ish / behaviour §7.6), Leave (§9.7.4), RouteQuery and
 *   periodic stabilisation (§9.6).
 */
import type { TimerHandle } from '../../src/common/clock.js';
import { ReloadError, ReloadErrorResponse } from '../../src/common/errors.js';
import { decode, encode, toHex } from '../../src/wire/codec.js';
import { ErrorCode, MessageCode } from '../../src/wire/constants.js';
import { type ChordUpdate, chordCodecs } from '../../src/wire/chord.js';
import { overlayCodecs } from '../../src/wire/overlay.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import type { NeighbourSnapshot, TopologyHost, TopologyPlugin, TopologyRequest } from '../plugin.js';
import { Ring, fromBig, toBig } from './ring.js';

/** Tunables (RFC 6940 §9 defaults where the RFC gives one). */
export interface ChordOptions {
  /** Successors kept (≥ 3, RFC 6940 §9.2). */
  successors: number;
  /** Predecessors kept (≥ 3). */
  predecessors: number;
  /** Finger entries looked for (≥ 16 for large rings). */
  fingers: number;
  /** Replicas of each value beyond the responsible peer (§9.7.3: 2). */
  replicas: number;
  /** chord-update-interval: periodic Update to every neighbor, ms (default ~600 s). */
  updateIntervalMs: number;
  /** chord-ping-interval: finger refresh pacing, ms (default 3600 s). */
  fingerIntervalMs: number;
  /** chord-reactive: Updates on every neighbor change (default true). */
  reactive: boolean;
  /** Wait after a successor failure before creating new replicas (30 s). */
  replicaHoldDownMs: number;
  /** How long a joining node waits for the admitting peer's Update. */
  joinUpdateWaitMs: number;
}

export const CHORD_DEFAULTS: ChordOptions = {
  successors: 5,
  predecessors: 3,
  fingers: 16,
  replicas: 2,
  updateIntervalMs: 600_000,
  fingerIntervalMs: 3_600_000,
  reactive: true,
  replicaHoldDownMs: 30_000,
  joinUpdateWaitMs: 5_000,
};

const EMPTY = new Uint8Array(0);

/** Least time between two corrective Updates to one peer whose view is stale, ms. */
export const STALE_CORRECTION_INTERVAL_MS = 1_000;

export class ChordTopology implements TopologyPlugin {
  readonly name = 'CHORD-RELOAD';
  readonly options: ChordOptions;
  private readonly ring: Ring;
  private readonly n: bigint;
  private readonly len: number;
  private readonly ids = new Map<bigint, Uint8Array>();
  private succ: bigint[] = [];
  private pred: bigint[] = [];
  private readonly fingerTable = new Map<number, bigint>();
  private routingCache: bigint[] | undefined;
  private joined = false;
  private stopped = false;
  private timers: TimerHandle[] = [];
  private updateScheduled: TimerHandle | undefined;
  private replicaTimer: TimerHandle | undefined;
  private dropTimer: TimerHandle | undefined;
  private readonly attaching = new Set<bigint>();
  private apWaiter: ((u: ChordUpdate) => void) | undefined;
  /** Updates that arrived before start() began waiting for them (join race). */
  private readonly earlyUpdates = new Map<bigint, ChordUpdate>();
  /** When a replica or migration Store for a resource (hex) last arrived, monotonic ms. */
  private readonly replicaArrivals = new Map<string, number>();
  /** Peers known to be peers (they sent or were listed in Updates): never clients. */
  private readonly peersSeen = new Set<bigint>();
  private ap: bigint | undefined;
  private readonly codecs;
  private readonly overlay;
  private nextFinger = 1;
  /** Counts of maintenance traffic, for the simulator's metrics. */
  readonly counters = { updatesSent: 0, updatesReceived: 0, attachesSent: 0, leavesSent: 0, replicationsSent: 0, handOversSent: 0, correctionsSent: 0 };
  /** When we last answered a peer's stale view (see staleView). */
  private readonly corrected = new Map<bigint, number>();

  onResponsibilityChanged?: () => void;

  constructor(
    private readonly host: TopologyHost,
    options: Partial<ChordOptions> = {},
  ) {
    this.options = { ...CHORD_DEFAULTS, ...options };
    this.len = host.nodeIdLength;
    this.ring = new Ring(this.len * 8);
    this.n = this.big(host.nodeId);
    this.codecs = chordCodecs(this.len);
    this.overlay = overlayCodecs(this.len);
  }

  // ------------------------------------------------------------------ ids

  private big(id: Uint8Array): bigint {
    const b = toBig(id);
    if (!this.ids.has(b)) this.ids.set(b, new Uint8Array(id));
    return b;
  }

  private bytes(b: bigint): Uint8Array {
    let id = this.ids.get(b);
    if (!id) this.ids.set(b, (id = fromBig(b, this.len)));
    return id;
  }

  resourceId(name: Uint8Array): Uint8Array {
    return resourceIdOf(name, this.len);
  }

  // ------------------------------------------------------------ routing

  isResponsible(id: Uint8Array): boolean {
    if (!this.joined) return false;
    const p = this.pred[0];
    if (p === undefined) return true;
    return this.ring.inHalfOpen(toBig(id), p, this.n);
  }

  private routingPeers(): bigint[] {
    if (!this.routingCache) {
      const set = new Set<bigint>([...this.succ, ...this.pred, ...this.fingerTable.values()]);
      set.delete(this.n);
      // A suspect link (RFC 6940 §6.6.3.2 failure hint) is out of the routing table until
      // its acks resume (onLinkHint).
      this.routingCache = [...set].filter((c) => this.host.isConnected(this.bytes(c)) && !this.host.isSuspect(this.bytes(c)));
    }
    return this.routingCache;
  }

  /**
   * The routing peers sorted by clockwise distance from this peer (built with the routing
   * cache): nextHop finds the farthest peer short of the key by binary search, with one
   * bigint subtraction instead of two per peer.
   */
  private routingByDistance(): { id: bigint; d: bigint }[] {
    const peers = this.routingPeers();
    if (this.routingSorted?.of !== peers) {
      const byD = peers.map((id) => ({ id, d: this.ring.dist(this.n, id) })).sort((a, b) => cmp(a.d, b.d));
      this.routingSorted = { of: peers, byD };
    }
    return this.routingSorted.byD;
  }

  private routingSorted: { of: bigint[]; byD: { id: bigint; d: bigint }[] } | undefined;

  nextHop(id: Uint8Array): Uint8Array | undefined {
    const k = toBig(id);
    // k just before our predecessor: that predecessor is responsible. This keeps a peer
    // whose successor list is stale (a peer joined just after it) from ping-ponging a
    // message with its old successor: the old successor knows the newcomer as its
    // predecessor and hands the message to it instead of back (a routing loop seen in the
    // simulator while rings grow).
    const known = this.knownResponsible(k);
    if (known !== undefined) return this.bytes(known);
    // RFC 6940 §9.3: the routing-table peer with the largest id in (this peer, k), i.e. the
    // largest clockwise distance from us below k's ((n, n) is the whole ring minus n).
    const byD = this.routingByDistance();
    const dk = k === this.n ? this.ring.size : this.ring.dist(this.n, k);
    let lo = 0;
    let hi = byD.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byD[mid]!.d < dk) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) return this.bytes(byD[lo - 1]!.id);
    // No peer in (n, k): k lies before our first successor, which is responsible.
    // A suspect first successor is routed around when another successor is usable (it
    // knows its predecessor and hands the message on over its own link); kept as the last
    // resort, since it is still the peer responsible.
    const s =
      this.succ.find((c) => this.host.isConnected(this.bytes(c)) && !this.host.isSuspect(this.bytes(c))) ??
      this.routingPeers()[0] ??
      this.succ.find((c) => this.host.isConnected(this.bytes(c)));
    return s === undefined ? undefined : this.bytes(s);
  }

  /**
   * Our immediate predecessor when k lies between it and the predecessor before it — it is
   * responsible for k. Only the nearest interval is trusted: farther ones may span peers we
   * do not know of (a thin neighbor table holds far, stale entries).
   */
  private knownResponsible(k: bigint): bigint | undefined {
    const p0 = this.pred[0];
    const p1 = this.pred[1];
    if (p0 === undefined || p1 === undefined || p0 === this.n) return undefined;
    if (!this.ring.inHalfOpen(k, p1, p0)) return undefined;
    return this.host.isConnected(this.bytes(p0)) && !this.host.isSuspect(this.bytes(p0)) ? p0 : undefined;
  }

  replicaSet(resourceId: Uint8Array): Uint8Array[] {
    void resourceId;
    return this.succ.slice(0, this.options.replicas).map((s) => this.bytes(s));
  }

  plausibleResponder(resourceId: Uint8Array, responder: Uint8Array): boolean {
    const r = toBig(resourceId);
    const d = this.ring.dist(r, toBig(responder));
    for (const m of [...this.succ, ...this.pred]) {
      if (this.ring.dist(r, m) < d) return false;
    }
    return true;
  }

  acceptsReplicaFrom(resourceId: Uint8Array, sender: Uint8Array): boolean {
    const s = toBig(sender);
    // Replicas come from predecessors (the responsible peer and the one before it);
    // migrations come from the successor we joined through or that is leaving. An accepted
    // one is noted: dropForeignData keeps it through the hold-down.
    const ok = this.pred.includes(s) || this.succ.includes(s);
    if (ok) this.replicaArrivals.set(toHex(resourceId), this.host.clock.monotonic());
    return ok;
  }

  responsiblePpb(): number {
    if (!this.joined) return 0;
    const p = this.pred[0];
    if (p === undefined) return 1_000_000_000;
    const d = this.ring.dist(p, this.n);
    return Number((d * 1_000_000_000n) / this.ring.size);
  }

  snapshot(): NeighbourSnapshot {
    const fingers = [...new Set(this.fingerTable.values())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      predecessors: this.pred.map((p) => this.bytes(p)),
      successors: this.succ.map((s) => this.bytes(s)),
      fingers: fingers.map((f) => this.bytes(f)),
    };
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /**
   * Installs neighbor and finger tables computed elsewhere and counts this peer as joined.
   * Only for the simulator's bulk bootstrap (an explicitly labelled cheap mode that wires a
   * large ring from global knowledge instead of running one join per peer); every listed
   * peer must already be connected. Maintenance then runs as usual.
   */
  installTables(t: { successors: Uint8Array[]; predecessors: Uint8Array[]; fingers: [number, Uint8Array][] }): void {
    this.succ = t.successors.map((id) => this.big(id)).filter((c) => c !== this.n).slice(0, this.options.successors);
    this.pred = t.predecessors.map((id) => this.big(id)).filter((c) => c !== this.n).slice(0, this.options.predecessors);
    this.fingerTable.clear();
    for (const [i, id] of t.fingers) {
      const c = this.big(id);
      if (c !== this.n && i >= 1 && i <= this.ring.bits && this.inFingerInterval(c, i)) this.fingerTable.set(i, c);
    }
    for (const c of [...this.succ, ...this.pred, ...this.fingerTable.values()]) this.peersSeen.add(c);
    this.routingCache = undefined;
    if (!this.joined) {
      this.joined = true;
      this.startTimers();
    }
  }

  // ------------------------------------------------------------ lifecycle

  async start(opts: { bootstrapPeer?: Uint8Array; first: boolean }): Promise<void> {
    this.stopped = false;
    if (opts.first || !opts.bootstrapPeer) {
      this.joined = true;
      this.startTimers();
      return;
    }
    const ap = this.big(opts.bootstrapPeer);
    this.ap = ap;
    // RFC 6940 §9.4 step 2: the AP's Update (after Attach with send_update) gives its table.
    const early = this.earlyUpdates.get(ap);
    this.earlyUpdates.clear();
    const table = early ?? await new Promise<ChordUpdate | undefined>((resolve) => {
      const t = this.host.clock.setTimeout(() => {
        this.apWaiter = undefined;
        resolve(undefined);
      }, this.options.joinUpdateWaitMs);
      this.apWaiter = (u) => {
        t.cancel();
        this.apWaiter = undefined;
        resolve(u);
      };
    });
    const candidates = new Set<bigint>([ap]);
    if (table && table.type !== 'peer_ready') {
      for (const id of [...table.predecessors, ...table.successors]) candidates.add(this.big(id));
    }
    candidates.delete(this.n);
    for (const c of candidates) this.peersSeen.add(c);
    const { succ, pred } = this.choose([...candidates]);
    // Step 3: Attach to the expected neighbors, source-routed through the AP.
    const wanted = new Set([...succ, ...pred]);
    wanted.delete(ap);
    await Promise.all(
      [...wanted].map((c) =>
        this.host
          .attach({ type: 'node', id: this.bytes(c) }, [{ type: 'node', id: this.bytes(ap) }])
          .catch(() => undefined),
      ),
    );
    this.succ = succ.filter((c) => c === ap || this.host.isConnected(this.bytes(c)));
    this.pred = pred.filter((c) => c === ap || this.host.isConnected(this.bytes(c)));
    this.routingCache = undefined;
    // Step 5: JoinReq to the AP over the direct link.
    const body = encode(this.overlay.joinReq, { joiningPeerId: this.host.nodeId, overlaySpecificData: EMPTY });
    await this.host.request([{ type: 'node', id: this.bytes(ap) }], MessageCode.joinReq, body);
    this.joined = true;
    this.ap = undefined;
    // Updates that neighbors sent while we were joining (after our Attach) are learned from
    // now; the table keeps none (its entries are views into received messages).
    const duringJoin = [...this.earlyUpdates];
    this.earlyUpdates.clear();
    for (const [from, u] of duringJoin) this.absorbUpdate(from, u);
    this.host.log('info', 'joined the ring', { successors: this.succ.length, predecessors: this.pred.length });
    // Step 9: Updates to every neighbor.
    await this.sendUpdates('neighbors');
    this.startTimers();
    this.refreshFingers(this.fingerCount());
  }

  async leave(): Promise<void> {
    if (!this.joined) {
      this.stop();
      return;
    }
    // Hand our data to the successor, who becomes responsible for it.
    const s = this.succ[0];
    if (s !== undefined) {
      for (const r of this.host.storage.resources()) {
        if (this.isResponsible(r)) {
          await this.host.replicate(this.bytes(s), r, 1).catch(() => undefined);
          this.counters.replicationsSent++;
        }
      }
    }
    const leavingPeerId = this.host.nodeId;
    const sends: Promise<unknown>[] = [];
    const done = new Set<bigint>();
    for (const p of this.pred) {
      if (done.has(p)) continue;
      done.add(p);
      // We are p's successor: from_succ carries our successor list.
      const data = encode(this.codecs.leaveData, { type: 'from_succ', successors: this.succ.map((x) => this.bytes(x)) });
      sends.push(this.sendLeave(p, leavingPeerId, data));
    }
    for (const s2 of this.succ) {
      if (done.has(s2)) continue;
      done.add(s2);
      const data = encode(this.codecs.leaveData, { type: 'from_pred', predecessors: this.pred.map((x) => this.bytes(x)) });
      sends.push(this.sendLeave(s2, leavingPeerId, data));
    }
    await Promise.all(sends);
    this.stop();
  }

  private sendLeave(to: bigint, leavingPeerId: Uint8Array, data: Uint8Array): Promise<unknown> {
    this.counters.leavesSent++;
    const body = encode(this.overlay.leaveReq, { leavingPeerId, overlaySpecificData: data });
    return this.host.request([{ type: 'node', id: this.bytes(to) }], MessageCode.leaveReq, body).catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.updateScheduled?.cancel();
    this.updateScheduled = undefined;
    this.replicaTimer?.cancel();
    this.replicaTimer = undefined;
    this.dropTimer?.cancel();
    this.dropTimer = undefined;
  }

  private startTimers(): void {
    const jitter = (ms: number): number => Math.floor(ms * (0.75 + 0.5 * this.host.random.float()));
    const tick = (): void => {
      if (this.stopped) return;
      // Stabilisation: any linked peer closer than a current neighbor takes its place (RFC
      // 6940 §9.6). Two rings formed after a mass failure merge this way: a peer's fingers
      // still reach into the other ring, and the Updates then sent carry the news on.
      this.adopt(this.linkedPeers());
      void this.sendUpdates('neighbors');
      this.forgetDeparted();
      this.timers[0] = this.host.clock.setTimeout(tick, jitter(this.options.updateIntervalMs));
    };
    const fingerTick = (): void => {
      if (this.stopped) return;
      this.refreshFingers(1);
      this.timers[1] = this.host.clock.setTimeout(fingerTick, jitter(this.options.fingerIntervalMs));
    };
    // One slot per periodic timer (a fired handle is replaced, not accumulated).
    this.timers = [
      this.host.clock.setTimeout(tick, jitter(this.options.updateIntervalMs)),
      this.host.clock.setTimeout(fingerTick, jitter(this.options.fingerIntervalMs)),
    ];
  }

  // ------------------------------------------------------------ neighbor table

  /** The best successors and predecessors among `candidates` (plus current ones). */
  private choose(candidates: bigint[]): { succ: bigint[]; pred: bigint[] } {
    const all = [...new Set([...candidates, ...this.succ, ...this.pred])].filter((c) => c !== this.n);
    // Each distance computed once (decorate, sort, undecorate): bigint arithmetic allocates.
    const after = all.map((c) => ({ c, d: this.ring.dist(this.n, c) })).sort((a, b) => cmp(a.d, b.d));
    const before = all.map((c) => ({ c, d: this.ring.dist(c, this.n) })).sort((a, b) => cmp(a.d, b.d));
    const succ = after.slice(0, this.options.successors).map((x) => x.c);
    const pred = before.slice(0, this.options.predecessors).map((x) => x.c);
    return { succ, pred };
  }

  /**
   * Merges peers learned from an Update or Leave (RFC 6940 §9.6): peers closer than our
   * current neighbors are attached to (through `via` when given) and then adopted.
   */
  private async learn(peers: bigint[], via?: bigint): Promise<void> {
    const { succ, pred } = this.choose(peers);
    const wanted = [...new Set([...succ, ...pred])].filter(
      (c) => !this.succ.includes(c) && !this.pred.includes(c) && !this.attaching.has(c),
    );
    await Promise.all(
      wanted.map(async (c) => {
        if (!this.host.isConnected(this.bytes(c))) {
          this.attaching.add(c);
          this.counters.attachesSent++;
          try {
            const route = via !== undefined && via !== c && this.host.isConnected(this.bytes(via))
              ? [{ type: 'node' as const, id: this.bytes(via) }]
              : [];
            await this.host.attach({ type: 'node', id: this.bytes(c) }, route);
          } catch {
            return;
          } finally {
            this.attaching.delete(c);
          }
        }
      }),
    );
    if (this.stopped) return;
    const connected = peers.filter((c) => c !== this.n && this.usable(c));
    this.adopt(connected);
  }

  /** Recomputes the neighbor table with `peers` added; reacts to what changed. */
  private adopt(peers: bigint[]): void {
    const before = { succ: this.succ, pred: this.pred };
    const { succ, pred } = this.choose(peers);
    this.succ = succ.filter((c) => this.usable(c));
    this.pred = pred.filter((c) => this.usable(c));
    this.routingCache = undefined;
    this.neighborsChanged(before);
  }

  /**
   * Takes `peer` out of every table. `failure`: it failed (link down); false when it left
   * with a Leave, which names its neighbours — then the 30 s replica hold-down, meant to
   * let an Update reveal a better successor after a failure (behaviour §7.6), is not
   * waited: new replica-set members get their copies at once (RFC 6940 §10.7.4: on a
   * Leave a peer sends the Stores that re-stabilize the overlay). Waiting had left a
   * leaving replica holder's values one copy short for 30 s; with the responsible peer
   * crashing in that window a value was lost (found by tracing churn losses).
   */
  private remove(peer: bigint, failure = true): void {
    const before = { succ: this.succ, pred: this.pred };
    this.succ = this.succ.filter((c) => c !== peer);
    this.pred = this.pred.filter((c) => c !== peer);
    for (const [i, f] of this.fingerTable) if (f === peer) this.fingerTable.delete(i);
    this.routingCache = undefined;
    // Behaviour §7.7: a lost neighbor is replaced with the best candidate from the routing
    // table — fingers and every other peer still linked, not only the neighbor lists (after
    // a mass failure those may hold nobody near us).
    const { succ, pred } = this.choose(this.linkedPeers().filter((c) => c !== peer));
    this.succ = succ;
    this.pred = pred;
    this.neighborsChanged(before, failure);
  }

  /**
   * Forgets the peers that are in no table and on no link any more: the set of known peers
   * and the Node-ID cache would otherwise keep every peer the overlay ever had, growing
   * without bound under churn. A forgotten peer is learned again the usual way (an Update
   * listing it, or its own Join or Update) before it can be linked as a peer. Runs with the
   * stabilisation tick, so what a peer keeps is bounded by the churn of one update interval.
   */
  private forgetDeparted(): void {
    const keep = new Set<bigint>([this.n, ...this.succ, ...this.pred, ...this.fingerTable.values(), ...this.attaching]);
    for (const c of this.earlyUpdates.keys()) keep.add(c);
    if (this.ap !== undefined) keep.add(this.ap);
    for (const id of this.host.connectedPeers()) keep.add(toBig(id));
    for (const c of this.peersSeen) if (!keep.has(c)) this.peersSeen.delete(c);
    for (const c of this.ids.keys()) if (!keep.has(c)) this.ids.delete(c);
    const now = this.host.clock.monotonic();
    for (const [c, at] of this.corrected) if (now - at >= STALE_CORRECTION_INTERVAL_MS) this.corrected.delete(c);
  }

  /** Peers (never clients) we hold a live link to: candidates for the neighbor table. */
  private linkedPeers(): bigint[] {
    const out: bigint[] = [];
    for (const id of this.host.connectedPeers()) {
      const c = this.big(id);
      if (c !== this.n && this.peersSeen.has(c) && !this.host.isSuspect(id)) out.push(c);
    }
    return out;
  }

  /** `failure`: a neighbor was lost (link down, Leave), as opposed to a closer peer learned. */
  private neighborsChanged(before: { succ: bigint[]; pred: bigint[] }, failure = false): void {
    const predChanged = before.pred[0] !== this.pred[0];
    const listsChanged = !sameList(before.succ, this.succ) || !sameList(before.pred, this.pred);
    if (!listsChanged) return;
    if (this.joined && predChanged) {
      this.responsibilityMoved(before.pred);
      this.onResponsibilityChanged?.();
    }
    const oldReplicas = before.succ.slice(0, this.options.replicas);
    const newReplicas = this.succ.slice(0, this.options.replicas);
    const added = newReplicas.filter((s) => !oldReplicas.includes(s));
    // Behaviour §7.6: the 30 s hold-down applies to a new successor found after a failure;
    // a closer peer that joined gets its replicas at once (otherwise the data of the range
    // it now follows has one copy fewer for 30 s — and is lost if its responsible peer fails
    // in that window: the new successor takes over the range without holding it).
    if (this.joined && added.length > 0) this.scheduleReplication(added, failure && oldReplicas.some((s) => !newReplicas.includes(s)));
    this.scheduleDrop();
    if (this.options.reactive) this.scheduleUpdates();
  }

  /**
   * Our predecessor changed. A predecessor new to us gets every resource we hold outside
   * our own range (p, n]: it is responsible for part of it and the first replica of the
   * rest (RFC 6940 §9.4 data transfer, generalised). This also covers a peer that joined
   * in front of a predecessor we had not yet noticed had failed: judged against the stale
   * predecessor it looks like a departure, and without this transfer it became
   * responsible for a range it never received — the replicas then dropped the data as no
   * longer theirs (found by tracing values lost under churn). If our predecessor left, we
   * now answer for its range (we hold its replicas) and our successors need copies.
   */
  private responsibilityMoved(previousPreds: bigint[]): void {
    const p = this.pred[0];
    if (p === undefined) return;
    // No predecessor before: we answered for the whole ring, (n, n].
    const oldPred = previousPreds[0] ?? this.n;
    const joinedInFront = this.ring.inOpen(p, oldPred, this.n);
    if (joinedInFront || !previousPreds.includes(p)) {
      for (const r of this.host.storage.resources()) {
        if (!this.ring.inHalfOpen(toBig(r), p, this.n)) {
          this.counters.replicationsSent++;
          this.host.replicate(this.bytes(p), r, 1).catch(() => undefined);
        }
      }
    }
    if (!joinedInFront) this.scheduleReplication(this.succ.slice(0, this.options.replicas), false);
  }

  /**
   * Sends our data to replica-set members. At once for `targets` (those still in the replica
   * set then); after a failure, after the hold-down, to the whole replica set then current.
   * A pending hold-down is never postponed or cancelled by later changes.
   */
  private scheduleReplication(targets: bigint[], afterFailure: boolean): void {
    if (afterFailure) {
      // Behaviour §7.6: after a failure, wait the hold-down before creating new replicas.
      if (this.replicaTimer) return;
      this.replicaTimer = this.host.clock.setTimeout(() => {
        this.replicaTimer = undefined;
        this.replicateTo(this.succ.slice(0, this.options.replicas));
      }, this.options.replicaHoldDownMs);
      return;
    }
    this.host.clock.setTimeout(() => {
      const current = this.succ.slice(0, this.options.replicas);
      this.replicateTo(targets.filter((t) => current.includes(t)));
    }, 0);
  }

  /** Replica Stores of every resource we are responsible for to `targets` (replica numbers by position). */
  private replicateTo(targets: bigint[]): void {
    if (this.stopped || targets.length === 0) return;
    const current = this.succ.slice(0, this.options.replicas);
    for (const r of this.host.storage.resources()) {
      if (!this.isResponsible(r)) continue;
      for (const t of targets) {
        const i = current.indexOf(t);
        if (i < 0) continue;
        this.counters.replicationsSent++;
        this.host.replicate(this.bytes(t), r, i + 1).catch(() => undefined);
      }
    }
  }

  /**
   * Behaviour §7.6: data for which this peer is no longer in the replica set is deleted —
   * after the hold-down, against the neighbor table then current, so a table that is briefly
   * wrong (a failed predecessor not yet noticed, a join half done) costs no replica.
   */
  private scheduleDrop(): void {
    if (this.dropTimer || !this.joined) return;
    this.dropTimer = this.host.clock.setTimeout(() => {
      this.dropTimer = undefined;
      if (!this.stopped) this.dropForeignData();
    }, this.options.replicaHoldDownMs);
  }

  /**
   * Deletes data outside our replica range (pred[replicas], n] — after handing each
   * resource to the peer we believe responsible for it. Under churn the copy being dropped
   * can be the last one: its responsible peer took over the range from a holder that
   * failed before replicating, and never received it (traced: a former second replica
   * dropped a value's only copy). The hand-over is a replica Store (RFC 6940 §7.4.1.1,
   * replica_number > 0, as in the Leave hand-over of §9.4/§10.7.4): the receiver accepts
   * it from a neighbor, keeps values it holds, and passes news on to its own replica set.
   * The copy is dropped once the receiver answered (accepted or refused, e.g. it holds
   * newer data); with no answer it is kept and tried again after the next hold-down.
   */
  private dropForeignData(): void {
    if (!this.joined || this.pred.length <= this.options.replicas) return;
    const now = this.host.clock.monotonic();
    for (const [key, at] of this.replicaArrivals) if (now - at >= this.options.replicaHoldDownMs) this.replicaArrivals.delete(key);
    let deferred = false;
    for (const r of this.host.storage.resources()) {
      if (!this.isForeign(r)) continue;
      const key = toHex(r);
      // A replica sent to us within the hold-down says its sender counts us in the replica
      // set: our table and its disagree, which under churn means one is not yet repaired.
      // Keep it until the views have had a hold-down to agree (dropping it had left values
      // with no copy when the remaining holders crashed — found by tracing lost values).
      if (this.replicaArrivals.has(key)) {
        deferred = true;
        continue;
      }
      if (this.handingOver.has(key)) continue;
      this.handingOver.add(key);
      void this.handOver(r, key).then((settled) => {
        this.handingOver.delete(key);
        if (!settled && !this.stopped) this.scheduleDrop();
      });
    }
    if (deferred) this.scheduleDrop();
  }

  /** Outside (pred[replicas], n]: neither ours nor one we replicate for a predecessor. */
  private isForeign(resourceId: Uint8Array): boolean {
    const edge = this.pred[this.options.replicas];
    return edge !== undefined && !this.ring.inHalfOpen(toBig(resourceId), edge, this.n);
  }

  /** Resources being handed over before their drop (one hand-over each at a time). */
  private readonly handingOver = new Set<string>();

  /** Hands `r` to its (presumed) responsible peer, then drops it if still foreign; false: kept, to try again. */
  private async handOver(r: Uint8Array, key: string): Promise<boolean> {
    // The predecessor nearest at or after r (r lies before pred[replicas], so among
    // predecessors the smallest clockwise distance from r): responsible for r as far as
    // we know, or at least closer to it and past it in its own turn.
    const k = toBig(r);
    let to: bigint | undefined;
    for (const p of this.pred) if (to === undefined || this.ring.dist(k, p) < this.ring.dist(k, to)) to = p;
    if (to !== undefined) {
      this.counters.handOversSent++;
      try {
        await this.host.replicate(this.bytes(to), r, 1);
      } catch (err) {
        // An ErrorResponse is an answer (it holds newer data, or does not take it from us);
        // anything else (timeout, link gone) leaves the copy here for the next attempt.
        if (!(err instanceof ReloadErrorResponse)) return false;
      }
    }
    // Still foreign, and no replica of it arrived meanwhile (someone counts us in again)?
    if (this.stopped || !this.isForeign(r) || this.replicaArrivals.has(key)) return true;
    this.host.storage.drop(r);
    return true;
  }

  private scheduleUpdates(): void {
    if (this.updateScheduled || this.stopped || !this.joined) return;
    this.updateScheduled = this.host.clock.setTimeout(() => {
      this.updateScheduled = undefined;
      void this.sendUpdates('neighbors');
    }, 0);
  }

  private updateBody(type: 'neighbors' | 'full' | 'peer_ready'): Uint8Array {
    const uptime = this.host.uptimeSeconds();
    const predecessors = this.pred.map((p) => this.bytes(p));
    const successors = this.succ.map((s) => this.bytes(s));
    if (type === 'peer_ready') return encode(this.codecs.update, { uptime, type });
    if (type === 'neighbors') return encode(this.codecs.update, { uptime, type, predecessors, successors });
    const fingers = [...new Set(this.fingerTable.values())]
      .sort((a, b) => cmp(a, b))
      .map((f) => this.bytes(f));
    return encode(this.codecs.update, { uptime, type, predecessors, successors, fingers });
  }

  private async sendUpdate(to: bigint, type: 'neighbors' | 'full' | 'peer_ready'): Promise<void> {
    this.counters.updatesSent++;
    try {
      await this.host.request([{ type: 'node', id: this.bytes(to) }], MessageCode.updateReq, this.updateBody(type));
    } catch (err) {
      this.host.log('debug', 'update failed', { to: toHex(this.bytes(to)), error: (err as Error).message });
    }
  }

  /** Update to every member of the neighbor table. */
  private async sendUpdates(type: 'neighbors' | 'full'): Promise<void> {
    const targets = [...new Set([...this.succ, ...this.pred])];
    await Promise.all(targets.map((t) => this.sendUpdate(t, type)));
  }

  // ------------------------------------------------------------ fingers

  /**
   * Finger entries to keep: at least `options.fingers`, and enough that the smallest finger
   * interval comes down to the farthest successor (RFC 6940 §9.2 sizing rule, behaviour
   * §7.2) — with clustered Node-IDs (landmark prefixes) neighbors are far closer than
   * 2^(bits-16), and 16 fingers would leave the last stretch to the successor list alone.
   */
  fingerCount(): number {
    const far = this.succ[this.succ.length - 1];
    if (far === undefined) return this.options.fingers;
    const d = this.ring.dist(this.n, far);
    if (d === 0n) return this.options.fingers;
    // Finger i starts 2^(bits - i) away: it reaches the farthest successor from i = bits - floor(log2 d).
    const need = this.ring.bits - (d.toString(2).length - 1);
    return Math.min(this.ring.bits, Math.max(this.options.fingers, need));
  }

  /** Looks for up to `count` missing fingers (Attach to Resource-ID = finger start). */
  private refreshFingers(count: number): void {
    if (!this.joined || this.stopped) return;
    for (let k = 0; k < count; k++) {
      const i = this.nextFinger;
      this.nextFinger = (this.nextFinger % this.fingerCount()) + 1;
      const f = this.fingerTable.get(i);
      if (f !== undefined && this.host.isConnected(this.bytes(f))) continue;
      const start = this.ring.fingerStart(this.n, i);
      // A finger already known among our neighbors needs no Attach.
      const known = this.routingPeers()
        .filter((c) => this.inFingerInterval(c, i))
        .sort((a, b) => cmp(this.ring.dist(start, a), this.ring.dist(start, b)))[0];
      if (known !== undefined) {
        this.fingerTable.set(i, known);
        this.routingCache = undefined;
        continue;
      }
      if (this.isResponsible(fromBig(start, this.len))) continue;
      this.counters.attachesSent++;
      this.host
        .attach({ type: 'resource', id: fromBig(start, this.len) })
        .then((id) => {
          const c = this.big(id);
          if (c !== this.n && this.inFingerInterval(c, i)) {
            this.fingerTable.set(i, c);
            // It answered an Attach for a Resource-ID: a peer.
            this.peersSeen.add(c);
            this.routingCache = undefined;
          }
        })
        .catch(() => undefined);
    }
  }

  private inFingerInterval(c: bigint, i: number): boolean {
    const start = this.ring.fingerStart(this.n, i);
    const end = i === 1 ? this.n : this.ring.fingerStart(this.n, i - 1);
    return c === start || this.ring.inOpen(c, start, end) || (i === 1 && c === start);
  }

  // ------------------------------------------------------------ link events

  onConnectionUp(nodeId: Uint8Array, opts?: { sendUpdate?: boolean }): void {
    if (opts?.sendUpdate && this.joined) void this.sendUpdate(this.big(nodeId), 'full');
  }

  /**
   * RFC 6940 §6.6.3.2: a suspect link leaves the routing table and "may be restored if ACKs
   * resume". Decision: at once it leaves the set nextHop chooses from (routingPeers is
   * rebuilt without it); it leaves the neighbor table at the next recomputation (adopt keeps
   * only usable peers: an Update received, the stabilisation tick), without the failure
   * path; on 'restored' it is adopted again. The link stays open (ReloadNode.linkHint); one
   * that fails for good closes and goes through onConnectionDown. Measured in the simulator
   * (issues #3/#5, 100-200 peers): dropping a suspect neighbor at once (adopt, or remove with
   * the failure hold-down) kept lookups through a 25 % mass failure at the old success, but
   * lost 1-4 stored values under churn on some seeds; keeping it until the link closed (30 s)
   * lost values and 6-8 % of lookups under churn. This middle way lost no value and kept
   * churn success within 0.3 % of the old rule (mass-failure repair is slower: see #5).
   */
  onLinkHint(nodeId: Uint8Array, hint: 'suspect' | 'restored'): void {
    this.routingCache = undefined;
    if (!this.joined || this.stopped) return;
    const c = toBig(nodeId);
    if (hint === 'restored' && this.peersSeen.has(c) && this.usable(c)) this.adopt([c]);
  }

  /** A live link that is not suspect: eligible for the neighbor and finger tables. */
  private usable(c: bigint): boolean {
    const id = this.bytes(c);
    return this.host.isConnected(id) && !this.host.isSuspect(id);
  }

  onConnectionDown(nodeId: Uint8Array): void {
    const c = toBig(nodeId);
    this.routingCache = undefined;
    if (this.succ.includes(c) || this.pred.includes(c) || [...this.fingerTable.values()].includes(c)) {
      this.host.log('info', 'neighbor lost', { node: toHex(nodeId) });
      this.remove(c);
    }
  }

  // ------------------------------------------------------------ requests

  async handle(req: TopologyRequest): Promise<Uint8Array> {
    switch (req.code) {
      case MessageCode.joinReq:
        return this.handleJoin(req);
      case MessageCode.updateReq:
        return this.handleUpdate(req);
      case MessageCode.leaveReq:
        return this.handleLeave(req);
      case MessageCode.routeQueryReq:
        return this.handleRouteQuery(req);
      default:
        throw new ReloadError(ErrorCode.invalidMessage, `CHORD-RELOAD does not handle code ${req.code}`);
    }
  }

  private handleJoin(req: TopologyRequest): Uint8Array {
    const join = decode(this.overlay.joinReq, req.body);
    // Behaviour §4.2: joining_peer_id must be the signer, over a direct link.
    if (toHex(join.joiningPeerId) !== toHex(req.from)) throw ReloadError.forbidden('joining_peer_id is not the signer');
    if (!req.direct || !this.host.isConnected(req.from)) throw ReloadError.forbidden('JoinReq must come over a direct link');
    if (!this.joined) throw new ReloadError(ErrorCode.forbidden, 'this peer has not joined yet');
    const jn = this.big(join.joiningPeerId);
    this.peersSeen.add(jn);
    this.host.log('info', 'admitting peer', { node: toHex(join.joiningPeerId) });
    // Steps 6-8 run after the answer: data transfer, then Updates (via adopt).
    this.host.clock.setTimeout(() => this.adopt([jn]), 0);
    return encode(this.overlay.joinAns, { overlaySpecificData: EMPTY });
  }

  private handleUpdate(req: TopologyRequest): Uint8Array {
    const u = decode(this.codecs.update, req.body);
    this.counters.updatesReceived++;
    const from = this.big(req.from);
    if (this.apWaiter && from === this.ap) {
      this.apWaiter(u);
      return EMPTY;
    }
    if (!this.joined || this.stopped) {
      // The admitting peer may answer before start() waits for it (also when a stopped peer
      // rejoins: ReloadNode stops the topology before it bootstraps again).
      if (this.earlyUpdates.size < 8) this.earlyUpdates.set(from, u);
      return EMPTY;
    }
    this.absorbUpdate(from, u);
    return EMPTY;
  }

  /** Learns the peers an Update names (after this reply), correcting a stale sender. */
  private absorbUpdate(from: bigint, u: ChordUpdate): void {
    const peers = [from];
    if (u.type !== 'peer_ready') for (const id of [...u.predecessors, ...u.successors]) peers.push(this.big(id));
    if (u.type === 'full') for (const id of u.fingers) peers.push(this.big(id));
    for (const p of peers) this.peersSeen.add(p);
    const stale = u.type !== 'peer_ready' && this.staleView(from, u.successors, u.predecessors);
    this.host.clock.setTimeout(() => {
      void this.learn(peers, from);
      if (stale) this.correct(from);
    }, 0);
  }

  /**
   * Whether `sender`'s neighbor lists are stale from where we stand: it counts us among its
   * successors but not one of our predecessors that lies between it and us (or among its
   * predecessors but not one of our successors between us and it). A peer that
   * joined through an admitting peer with an outdated table ends up like that; nothing in
   * its neighbors' Updates tells it, since they find nothing closer in what it sends.
   */
  private staleView(sender: bigint, successors: Uint8Array[], predecessors: Uint8Array[]): boolean {
    const succ = successors.map(toBig);
    if (succ.includes(this.n)) {
      for (const y of this.pred) if (this.ring.inOpen(y, sender, this.n) && !succ.includes(y)) return true;
    }
    const pred = predecessors.map(toBig);
    if (pred.includes(this.n)) {
      for (const y of this.succ) if (this.ring.inOpen(y, this.n, sender) && !pred.includes(y)) return true;
    }
    return false;
  }

  /**
   * Answers a stale view with our own neighbor lists (an extra Update, RFC 6940 §9.6
   * semantics), so the sender learns closer neighbors; at most once per second per peer.
   */
  private correct(peer: bigint): void {
    const now = this.host.clock.monotonic();
    const last = this.corrected.get(peer);
    if (last !== undefined && now - last < STALE_CORRECTION_INTERVAL_MS) return;
    if (this.corrected.size > 1024) this.corrected.clear();
    this.corrected.set(peer, now);
    this.counters.correctionsSent++;
    void this.sendUpdate(peer, 'neighbors');
  }

  private handleLeave(req: TopologyRequest): Uint8Array {
    const leave = decode(this.overlay.leaveReq, req.body);
    if (toHex(leave.leavingPeerId) !== toHex(req.from)) throw ReloadError.forbidden('leaving_peer_id is not the signer');
    const data = decode(this.codecs.leaveData, leave.overlaySpecificData);
    const gone = this.big(leave.leavingPeerId);
    this.host.log('info', 'neighbor leaving', { node: toHex(leave.leavingPeerId) });
    const listed = (data.type === 'from_succ' ? data.successors : data.predecessors).map((id) => this.big(id));
    this.host.clock.setTimeout(() => {
      this.remove(gone, false);
      this.host.disconnect(this.bytes(gone));
      void this.learn(listed.filter((c) => c !== gone));
    }, 0);
    return EMPTY;
  }

  private handleRouteQuery(req: TopologyRequest): Uint8Array {
    const q = decode(this.overlay.routeQueryReq, req.body);
    const d = q.destination;
    let next: Uint8Array;
    if (d.type === 'node' || d.type === 'resource') {
      next = this.isResponsible(d.id) ? this.host.nodeId : (this.nextHop(d.id) ?? this.host.nodeId);
    } else {
      throw ReloadError.forbidden('RouteQuery for opaque ids is not answered');
    }
    if (q.sendUpdate) this.host.clock.setTimeout(() => void this.sendUpdate(this.big(req.from), 'full'), 0);
    return encode(this.codecs.routeQueryAns, { nextPeer: next });
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameList(a: bigint[], b: bigint[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
