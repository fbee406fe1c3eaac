/**
 * The overlay simulator (ARCHITECTURE.md "src/sim/"): many real RELOAD peers — the real
 * codec, router, storage, security and CHORD-RELOAD maintenance — in one process, on the
 * in-memory link, driven by a VirtualClock, deterministic for a seed.
 *
 * A run builds an overlay of `nodes` peers through the real join protocol (RFC 6940 §11.4,
 * CHORD §9.4), lets it stabilise, stores values (3 copies: the responsible peer and two
 * successors, §9.7.3), then runs a scenario:
 *
 * - stable: `lookups` Fetches of random stored values from random peers;
 * - churn ({@link ChurnSpec}): peers leave (gracefully or by crashing) after session times
 *   drawn from a distribution and are replaced by new peers, while lookups run throughout;
 * - mass failure (`failPercent`): that share of the peers crash at once; lookups run on
 *   while the overlay repairs itself, until it has reconverged.
 *
 * and reports lookup success, hops, latency, maintenance traffic, stored values lost and
 * the time to reconverge ({@link SimulationReport}). Cheap modes for very large runs (a
 * shared key pool, signature-free operation, a bulk bootstrap) are off by default and are
 * listed in the report's `cheap` field whenever one is on.
 */
import { VirtualClock } from '../common/clock.js';
import { type Logger, silentLogger } from '../common/log.js';
import { SeededRandom } from '../common/random.js';
import { MemoryNetwork, MemoryTransport } from '../link/memory.js';
import type { LinkAddress } from '../link/types.js';
import { ReloadNode } from '../node/node.js';
import { type OverlayParameters, overlayParameters } from '../node/parameters.js';
import type { UsagePlugin } from '../node/usage.js';
import { installUsages } from '../node/usage.js';
import { verifyFetched } from '../node/data.js';
import { Router } from '../routing/router.js';
import { NODE_CRYPTO_INLINE_SIGNATURES, type SignatureScheme } from '../security/signature-scheme.js';
import { CertificateStore } from '../security/trust.js';
import { KindRegistry } from '../storage/kinds.js';
import { PolicyRegistry, nodeMultipleResourceId } from '../storage/policies.js';
import { DataStore } from '../storage/store.js';
import { decodeBody, encodeBody } from '../wire/body.js';
import { bytesEqual, toHex, utf8 } from '../wire/codec.js';
import { MessageCode } from '../wire/constants.js';
import { resourceIdOf } from '../wire/ids.js';
import { isReservedNodeId } from '../../certs/node-id-strategy.js';
import { CHORD_DEFAULTS, type ChordOptions, ChordTopology } from '../../topology/chord/chord.js';
import { Ring, toBig } from '../../topology/chord/ring.js';
import { topologyFactory } from '../../topology/index.js';
import { type ChurnSpec, formatChurnSpec, sessionTimeMs } from './churn.js';
import { DIGEST_SIGNATURES } from './crypto.js';
import { VirtualDriver } from './driver.js';
import { IdentityFactory } from './identities.js';
import { type LatencyModel, MatrixLatencyModel, RegionLatencyModel } from './latency.js';
import { Samples, WindowedRate, round } from './stats.js';

const HOST = Symbol('sim host');
type TaggedAddress = LinkAddress & { [HOST]?: number };

/** Kind of the values the simulator stores and looks up (private-use Kind-ID). */
export const SIM_VALUE_KIND = 0xf0051001;
/** The simulated overlay's name. */
export const SIM_OVERLAY = 'sim.reload-node.invalid';
/** Virtual time starts here (fixed, so runs are deterministic). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

/** CHORD-RELOAD tunables the simulator runs with unless told otherwise (all in the report). */
export const SIM_CHORD_DEFAULTS: Partial<ChordOptions> = {
  // RFC 6940's ~600 s suits quiet overlays; RFC 7363's self-tuning formula gives ~15 s for
  // 30-minute sessions in 2,000 peers. 30 s is between the two and is what the figures use.
  updateIntervalMs: 30_000,
  // One finger checked per tick (RFC 6940 §9.6 alternative 1, paced).
  fingerIntervalMs: 60_000,
};

export interface SimulationOptions {
  /** Peers in the overlay (initial population). */
  nodes: number;
  seed: string | number;
  /** Lookups in the scenario (stable: after stabilisation; churn: spread over it). @default 1000 */
  lookups?: number;
  /** Values stored before the scenario. @default min(nodes, 1000) */
  values?: number;
  churn?: ChurnSpec;
  /** Share of peers (percent) that crash at once after stabilisation. */
  failPercent?: number;
  /** Latency: regions (default 6 regions, 5-20 ms inside, 40-250 ms between) or a site matrix. */
  latency?: { regions?: number; intraMs?: [number, number]; interMs?: [number, number] } | { matrix: number[][] };
  /** Cheap mode: K shared key pairs instead of one per peer (0 = one per peer). @default 0 */
  keyPool?: number;
  /** Cheap mode 'digest': signature-free (see crypto.ts). @default 'real' */
  signatures?: 'real' | 'digest';
  /**
   * 'join' (default): every peer joins through the real protocol. 'bulk' (cheap mode):
   * the initial ring is wired directly from global knowledge — links opened and CHORD tables
   * installed — then maintenance runs as usual; arrivals under churn still join for real.
   */
  bootstrap?: 'join' | 'bulk';
  /**
   * Link model: 'stream' (default) = TLS/TCP with the framed header, the overlay's default
   * link protocol; 'simple' = DTLS-UDP Simple Reliability (stop-and-wait: one message in
   * flight per link, so a 400 ms round trip carries about 2.4 messages per second).
   */
  link?: 'stream' | 'simple';
  /** Spacing of arrivals while the initial ring is built, virtual ms. @default 200 */
  joinIntervalMs?: number;
  /** CHORD-RELOAD tunables (defaults: {@link SIM_CHORD_DEFAULTS} over CHORD_DEFAULTS). */
  chord?: Partial<ChordOptions>;
  /** Lookups issued per virtual second in the stable scenario. @default 500 */
  lookupRatePerS?: number;
  /** Extra usages a peer runs (e.g. the capability directory); see {@link Simulation.installUsages}. */
  usages?: (peer: { host: number; region: number; nodeId: Uint8Array }) => UsagePlugin[];
  /**
   * Chooses a peer's Node-ID, as an enrollment server's NodeIdStrategy would (default:
   * random, the default strategy); undefined falls back to random.
   */
  nodeIdFor?: (peer: { host: number; region: number }, sim: Simulation) => Uint8Array | undefined;
  /** Fixes the region of host `host` (default: random). */
  regionFor?: (host: number) => number | undefined;
  /** Progress of the long phases. */
  onProgress?: (p: SimProgress) => void;
  /** Overlay parameter overrides. */
  params?: Partial<OverlayParameters>;
  /** Runs once the initial overlay is built, before values are stored (e.g. landmark queries). */
  afterBuild?: (sim: Simulation) => Promise<void>;
  /** A logger for a peer (debugging); silent by default. */
  log?: (host: number) => Logger | undefined;
}

export interface SimProgress {
  phase: string;
  done: number;
  total: number;
  virtualMs: number;
}

export interface SimPeer {
  /** Host number (also its latency-model host). */
  readonly host: number;
  readonly region: number;
  readonly address: LinkAddress;
  readonly nodeId: Uint8Array;
  readonly node: ReloadNode;
  state: 'new' | 'joining' | 'up' | 'left' | 'crashed' | 'failed';
  joinedAtMs?: number;
}

interface SimValue {
  resourceId: Uint8Array;
  value: Uint8Array;
  stored: boolean;
  /** Every copy was on a peer killed by a mass failure: gone by construction, not looked up. */
  destroyed?: boolean;
}

export interface LookupResult {
  ok: boolean;
  hops: number;
  latencyMs: number;
  /** The origin left during the lookup: not counted. */
  aborted: boolean;
}

/** Traffic by message family, every link transmission counted (forwarding hops included). */
class TrafficCounters {
  maintenanceMsgs = 0;
  maintenanceBytes = 0;
  storageMsgs = 0;
  storageBytes = 0;
  otherMsgs = 0;
  otherBytes = 0;

  snapshot(): TrafficCounters {
    return Object.assign(new TrafficCounters(), this);
  }
}

/** Request codes of topology maintenance (their answers count too). */
const MAINTENANCE_CODES = new Set<number>([
  MessageCode.probeReq,
  MessageCode.attachReq,
  MessageCode.joinReq,
  MessageCode.leaveReq,
  MessageCode.updateReq,
  MessageCode.routeQueryReq,
  MessageCode.pingReq,
]);
const STORAGE_CODES = new Set<number>([MessageCode.storeReq, MessageCode.fetchReq, MessageCode.statReq, MessageCode.findReq]);

export interface SimulationReport {
  nodes: number;
  seed: string;
  /** Lookups counted (aborted ones excluded). */
  lookups: number;
  success_rate: number;
  hops: { mean: number; p50: number; p99: number; max: number };
  latency_ms: { mean: number; p50: number; p99: number };
  values_stored: number;
  /** Stored values no live peer holds any more (ground truth, end of run). */
  values_lost: number;
  /** Stored values a final Fetch through the overlay did not return (values destroyed by a mass failure excluded). */
  values_unfetchable: number;
  maintenance_msgs_per_peer_s: number;
  maintenance_bytes_per_peer_s: number;
  /** Storage traffic (lookups, stores, replication, migration) per peer per second. */
  storage_msgs_per_peer_s: number;
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  virtual_s: number;
  ring: { peers: number; consistent: boolean; wrong_successor: number; wrong_predecessor: number; mean_routing_table: number };
  build: { mode: 'join' | 'bulk'; joined: number; failed: number; converge_s: number | null; wall_s: number };
  churn?: { spec: string; departures: number; crashes: number; leaves: number; arrivals: number; joins_failed: number; aborted_lookups: number; success_over_time: { t_s: number; rate: number; lookups: number }[] };
  fail?: {
    percent: number;
    killed: number;
    /** Values whose every copy was on a killed peer (lost by the failure itself; not looked up after). */
    values_destroyed: number;
    /**
     * What chance predicts for values_destroyed: values × P(all copy holders killed), the
     * holders being 1 + replicas distinct peers (hypergeometric). Values sharing holders die
     * together, so single runs scatter widely around it (~±5 at 2,000 peers, 1,000 values).
     */
    values_destroyed_expected: number;
    /** Time from the failure until every live peer had its true successor and predecessor, s. */
    reconverge_s: number | null;
    /** Time until a 10 s window of lookups succeeded at ≥ 99.9 %, s. */
    success_recovered_s: number | null;
    /** Success of the counted lookups run after recovery. */
    success_after: number;
    lookups_after: number;
    success_over_time: { t_s: number; rate: number; lookups: number }[];
  };
  nearest_capable_rtt_ms?: {
    /** Mean RTT to the ID-nearest advertiser found, landmark-aware Node-IDs, ms. */
    landmark: number;
    /** The same with random Node-IDs, ms. */
    random: number;
    /** landmark / random. */
    ratio: number;
    /** Mean RTT to the network-nearest advertiser (lower bound for any ID scheme), ms. */
    best_possible: number;
    queries: number;
    capable: number;
    landmarks: number;
    /** Share of directory answers that were the true ID-nearest advertiser. */
    exact_landmark: number;
    exact_random: number;
    stats_per_query: number;
  };
  /** Conference scenario (./conference.ts; with landmark IDs): participant → serving focus RTT. */
  conference_rtt_ms?: {
    /** Secondary focus chosen by chooseSecondaryFocus among the directory's nearest advertisers, ms. */
    landmark: number;
    /** Secondary focus chosen at random among capable peers with a free place, ms. */
    random: number;
    /** landmark / random. */
    ratio: number;
    /** Means over delegated participants only, ms. */
    delegated_landmark: number;
    delegated_random: number;
    p99_landmark: number;
    p99_random: number;
    spec: string;
    foci: number;
    served: number;
    delegated: number;
    unserved_landmark: number;
    unserved_random: number;
    stats_per_delegation: number;
    query_errors: number;
  };
  /** Options in effect. */
  options: {
    signatures: string;
    link: string;
    key_pool: number;
    bootstrap: 'join' | 'bulk';
    latency: string;
    join_interval_ms: number;
    lookup_rate_per_s: number;
    chord: ChordOptions;
    replicas: number;
  };
  /** Cheap modes in effect (empty: the real thing). */
  cheap: string[];
  /** Why lookups and final fetches failed: error → count. */
  failures: Record<string, number>;
  /** Hop histogram (index = hops) for plots. */
  hop_histogram: number[];
  /** Ring positions for the ring plot: [Node-ID top 32 bits / 2^32, region]. */
  ring_positions: [number, number][];
}

/** A phase's counters at its start, to report rates over it. */
interface PhaseMark {
  atMs: number;
  traffic: TrafficCounters;
  peerSeconds: number;
}

export class Simulation {
  readonly clock = new VirtualClock(SIM_EPOCH_MS);
  readonly driver = new VirtualDriver(this.clock);
  readonly random: SeededRandom;
  readonly network: MemoryNetwork;
  readonly latency: LatencyModel;
  readonly params: OverlayParameters;
  readonly chord: ChordOptions;
  /** The peers present: joining, up, or not started yet (departed ones are released). */
  readonly peers: SimPeer[] = [];
  readonly values: SimValue[] = [];
  readonly traffic = new TrafficCounters();
  readonly identities: IdentityFactory;
  private readonly policies = new PolicyRegistry();
  readonly kinds: KindRegistry;
  private readonly trust: CertificateStore;
  private readonly scheme: SignatureScheme;
  private readonly linkMode: 'stream' | 'simple';
  private readonly hostIndex = new Map<string, number>();
  private readonly idRandom: SeededRandom;
  private readonly storesByPeer = new Map<SimPeer, number>();
  private readonly maxValuesPerPeer: number;
  private readonly liveSet = new Set<SimPeer>();
  /** Host number of the next peer (departed peers' numbers are never reused). */
  private nextHost = 0;
  private liveCache: SimPeer[] | undefined;
  /** Integral of live peers over virtual time (peer-seconds), for per-peer rates. */
  private peerSeconds = 0;
  private peerSecondsAt = SIM_EPOCH_MS;
  private readonly startWall = performance.now();
  private readonly startCpu = process.cpuUsage();
  private readonly hops = new Samples();
  private readonly latencies = new Samples();
  private lookupsOk = 0;
  private lookupsCounted = 0;
  private lookupsAborted = 0;
  private buildInfo: SimulationReport['build'] | undefined;
  private churnInfo: SimulationReport['churn'] | undefined;
  private failInfo: SimulationReport['fail'] | undefined;
  private phaseMark: PhaseMark | undefined;
  private phaseRates: { maintenance: number; maintenanceBytes: number; storage: number } | undefined;
  landmarkInfo: SimulationReport['nearest_capable_rtt_ms'] | undefined;

  constructor(readonly options: SimulationOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 2) throw new RangeError(`nodes must be an integer ≥ 2, got ${options.nodes}`);
    if (options.failPercent !== undefined && !(options.failPercent > 0 && options.failPercent < 100)) {
      throw new RangeError(`fail percent must be in (0, 100), got ${options.failPercent}`);
    }
    this.random = new SeededRandom(`sim/${options.seed}`);
    const lat = options.latency ?? {};
    this.latency = 'matrix' in lat
      ? new MatrixLatencyModel(lat.matrix, new SeededRandom(`sim/${options.seed}/latency`))
      : new RegionLatencyModel({ ...lat, random: new SeededRandom(`sim/${options.seed}/latency`) });
    this.network = new MemoryNetwork({
      clock: this.clock,
      latencyMs: (from, to) => this.latency.oneWayMs(this.hostOf(from), this.hostOf(to)),
    });
    this.params = overlayParameters({ overlayName: SIM_OVERLAY, ...options.params });
    this.chord = { ...CHORD_DEFAULTS, ...SIM_CHORD_DEFAULTS, ...options.chord };
    this.scheme = options.signatures === 'digest' ? DIGEST_SIGNATURES : NODE_CRYPTO_INLINE_SIGNATURES;
    this.linkMode = options.link ?? 'stream';
    this.identities = new IdentityFactory({
      overlay: SIM_OVERLAY,
      keyPool: options.keyPool ?? 0,
      notBefore: SIM_EPOCH_MS - 3_600_000,
      notAfter: SIM_EPOCH_MS + 400 * 86_400_000,
    });
    this.idRandom = new SeededRandom(`sim/${options.seed}/node-ids`);
    // Shared by every peer: the same trust policy (its cache is a pure function of the
    // certificate bytes and the time) and the same Kinds — one copy instead of thousands.
    this.trust = new CertificateStore(
      { overlay: SIM_OVERLAY, rootCerts: [this.identities.ca.certificate], nodeIdLength: this.params.nodeIdLength, signatures: this.scheme },
      this.clock,
      1_000_000,
    );
    this.kinds = new KindRegistry({ policies: this.policies, nodeIdLength: this.params.nodeIdLength });
    const valueCount = options.values ?? Math.min(options.nodes, 1000);
    this.maxValuesPerPeer = Math.min(255, Math.max(1, Math.ceil((4 * valueCount) / options.nodes)));
    this.kinds.register({
      id: SIM_VALUE_KIND,
      name: 'sim-value',
      dataModel: 'single',
      accessControl: 'NODE-MULTIPLE',
      maxCount: 1,
      maxSize: 256,
      maxNodeMultiple: this.maxValuesPerPeer,
      source: 'simulator',
    });
  }

  /** Registers usages' policies and Kinds once (every peer shares the registry). */
  installUsages(usages: UsagePlugin[]): void {
    installUsages(usages, { kinds: this.kinds, policies: this.policies, phase: 'policies' });
    installUsages(usages, { kinds: this.kinds, policies: this.policies, phase: 'kinds' });
  }

  get cheapModes(): string[] {
    const out: string[] = [];
    if ((this.options.keyPool ?? 0) > 0) out.push(`key pool: ${this.options.keyPool} RSA-2048 key pairs shared by all peers (certificates and Node-IDs stay per peer)`);
    if (this.options.signatures === 'digest') out.push('signature-free: 64-bit checksums instead of RSA signatures (sizes kept, no public-key arithmetic)');
    if (this.options.bootstrap === 'bulk') out.push('bulk bootstrap: the initial ring is wired from global knowledge instead of joining one by one');
    return out;
  }

  private hostOf(a: LinkAddress): number {
    // Every address the memory link hands the latency model is one of the peers' own
    // address objects, tagged with its host number when created.
    return (a as TaggedAddress)[HOST] ?? this.hostIndex.get(a.host) ?? 0;
  }

  /** Live peers that have joined. */
  live(): SimPeer[] {
    return this.liveArray().slice();
  }

  /** The live peers in insertion order, rebuilt only after a change (lookups pick from it). */
  private liveArray(): SimPeer[] {
    this.liveCache ??= [...this.liveSet];
    return this.liveCache;
  }

  private progress(phase: string, done: number, total: number): void {
    this.options.onProgress?.({ phase, done, total, virtualMs: this.clock.now() - SIM_EPOCH_MS });
  }

  private accountPeerSeconds(): void {
    const now = this.clock.now();
    this.peerSeconds += (this.liveSet.size * (now - this.peerSecondsAt)) / 1000;
    this.peerSecondsAt = now;
  }

  private setLive(p: SimPeer, live: boolean): void {
    this.accountPeerSeconds();
    if (live) this.liveSet.add(p);
    else this.liveSet.delete(p);
    this.liveCache = undefined;
  }

  // ------------------------------------------------------------------ peers

  /** Creates a peer (not started): identity, node, memory transport on its own host. */
  createPeer(opts: { nodeId?: Uint8Array; region?: number; standalone?: boolean } = {}): SimPeer {
    const host = this.nextHost++;
    const region = this.latency.place(host, opts.region ?? this.options.regionFor?.(host));
    const nodeId = opts.nodeId ?? this.options.nodeIdFor?.({ host, region }, this) ?? this.randomNodeId();
    const credentials = this.identities.issue(`peer${host}`, nodeId);
    const ip = `10.${(host >> 16) & 0xff}.${(host >> 8) & 0xff}.${host & 0xff}`;
    this.hostIndex.set(ip, host);
    const address: TaggedAddress = { host: ip, port: 6084, [HOST]: host };
    const first = opts.standalone === true || this.liveSet.size === 0;
    const bootstrap = first ? [] : this.bootstrapFor();
    const storage = new DataStore({ kinds: this.kinds, policies: this.policies, clock: this.clock, certificates: this.trust });
    const network = this.network;
    const node = new ReloadNode({
      params: this.params,
      credentials,
      certificates: this.trust,
      kinds: this.kinds,
      storage,
      transports: [
        {
          kind: 'memory',
          create: (o) => new MemoryTransport(network, { ...o, certificate: credentials.certificate.der, reliability: this.linkMode }),
          listen: address,
        },
      ],
      bootstrap: bootstrap.map((a) => ({ kind: 'memory' as const, address: a })),
      topology: { factory: topologyFactory('CHORD-RELOAD'), params: { ...this.chord } },
      role: 'peer',
      firstNode: first,
      clock: this.clock,
      random: new SeededRandom(`sim/${this.options.seed}/node/${host}`),
      log: this.options.log?.(host) ?? silentLogger,
      signatures: this.scheme,
      usages: this.options.usages?.({ host, region, nodeId }) ?? [],
    });
    const peer: SimPeer = { host, region, address, nodeId, node, state: 'new' };
    this.tapTraffic(node);
    this.peers.push(peer);
    return peer;
  }

  /** A random Node-ID (RFC 6940 §11.3: centrally issued, random; never all-zeros or all-ones). */
  private randomNodeId(): Uint8Array {
    for (;;) {
      const id = this.idRandom.bytes(this.params.nodeIdLength);
      if (!isReservedNodeId(id)) return id;
    }
  }

  /** Up to three random joined peers' addresses (the configuration's bootstrap-node list). */
  private bootstrapFor(): LinkAddress[] {
    const live = this.live();
    const out: LinkAddress[] = [];
    for (let i = 0; i < 3 && live.length > 0; i++) {
      const p = live.splice(this.random.int(live.length), 1)[0]!;
      out.push(p.address);
    }
    return out;
  }

  private tapTraffic(node: ReloadNode): void {
    const t = this.traffic;
    node.router.tap = (direction, _link, head, tail) => {
      if (direction !== 'out') return;
      // A forwarded message comes as its header (`head`) and the rest (`tail`).
      const rest = tail ?? head.subarray(Router.headerSizeOf(head));
      if (rest.length < 2) return;
      const code = (rest[0]! << 8) | rest[1]!;
      const length = head.length + (tail ? tail.length : 0);
      const req = code === MessageCode.error ? code : code & 1 ? code : code - 1;
      if (MAINTENANCE_CODES.has(req)) {
        t.maintenanceMsgs++;
        t.maintenanceBytes += length;
      } else if (STORAGE_CODES.has(req)) {
        t.storageMsgs++;
        t.storageBytes += length;
      } else {
        t.otherMsgs++;
        t.otherBytes += length;
      }
    };
  }

  /** Starts a peer through the real join protocol; resolves true once it has joined. */
  async join(peer: SimPeer): Promise<boolean> {
    peer.state = 'joining';
    try {
      await peer.node.start();
      if (peer.state !== 'joining') return false;
      peer.state = 'up';
      peer.joinedAtMs = this.clock.now();
      this.setLive(peer, true);
      return true;
    } catch {
      if (peer.state === 'joining') {
        peer.state = 'failed';
        await peer.node.stop().catch(() => undefined);
        this.release(peer);
      }
      return false;
    }
  }

  /** Crashes a peer: its host dies silently (no Leave, links not closed), timers stop. */
  crash(peer: SimPeer): void {
    if (peer.state === 'crashed' || peer.state === 'left') return;
    peer.state = 'crashed';
    this.setLive(peer, false);
    this.network.kill(peer.address);
    void peer.node.stop().finally(() => this.release(peer));
  }

  /** Leaves gracefully (data to the successor, Leave to neighbours, links closed). */
  async leave(peer: SimPeer): Promise<void> {
    if (peer.state !== 'up') return;
    peer.state = 'left';
    this.setLive(peer, false);
    await peer.node.leave().catch(() => undefined);
    this.release(peer);
  }

  /**
   * Forgets a departed peer once its node has stopped, so a long churn run holds only the
   * peers that are present (a 2-hour run at 2,000 peers creates ~10,000) — its host number
   * is never reused.
   */
  private release(peer: SimPeer): void {
    const i = this.peers.indexOf(peer);
    if (i >= 0) this.peers.splice(i, 1);
    this.storesByPeer.delete(peer);
  }

  // ------------------------------------------------------------------ the ring

  /** Builds the initial overlay (real joins, or the bulk cheap mode). */
  async build(): Promise<void> {
    const n = this.options.nodes;
    const wall0 = performance.now();
    await this.identities.prepare(n);
    let joined = 0;
    let failed = 0;
    if (this.options.bootstrap === 'bulk') {
      joined = await this.bulkBuild(n);
    } else {
      const interval = this.options.joinIntervalMs ?? 200;
      const first = this.createPeer();
      if (!(await this.driver.run(this.join(first)))) throw new Error('the first peer could not start');
      joined = 1;
      const pending = new Set<Promise<boolean>>();
      for (let i = 1; i < n; i++) {
        const peer = this.createPeer();
        const p = this.join(peer).then((ok) => {
          pending.delete(p);
          if (ok) joined++;
          else failed++;
          return ok;
        });
        pending.add(p);
        await this.driver.settle(interval);
        if (i % 50 === 0) this.progress('join', i, n);
      }
      while (pending.size > 0) await this.driver.run(Promise.allSettled([...pending]), 600_000);
    }
    this.progress('join', n, n);
    const t0 = this.clock.now();
    const converged = await this.waitConverged(1_800_000);
    this.buildInfo = {
      mode: this.options.bootstrap ?? 'join',
      joined,
      failed,
      converge_s: converged ? round((this.clock.now() - t0) / 1000, 1) : null,
      wall_s: round((performance.now() - wall0) / 1000, 1),
    };
  }

  /**
   * Cheap mode: wires the ring from global knowledge. Every peer starts alone (as a first
   * node would), opens links to its true neighbours and finger targets, and gets its CHORD
   * tables installed ({@link ChordTopology.installTables}); maintenance then runs normally.
   */
  private async bulkBuild(n: number): Promise<number> {
    const peers: SimPeer[] = [];
    for (let i = 0; i < n; i++) peers.push(this.createPeer({ standalone: true }));
    await this.driver.run(Promise.all(peers.map((p) => p.node.start())));
    const ring = new Ring(this.params.nodeIdLength * 8);
    const sorted = peers.map((p) => ({ p, id: toBig(p.nodeId) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const ids = sorted.map((x) => x.id);
    /** Index of the first peer at or after id (wrapping). */
    const successorIndex = (id: bigint): number => {
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ids[mid]! < id) lo = mid + 1;
        else hi = mid;
      }
      return lo % ids.length;
    };
    const c = this.chord;
    let done = 0;
    for (let k = 0; k < sorted.length; k++) {
      const { p, id } = sorted[k]!;
      const successors = Array.from({ length: Math.min(c.successors, n - 1) }, (_, j) => sorted[(k + 1 + j) % n]!.p);
      const predecessors = Array.from({ length: Math.min(c.predecessors, n - 1) }, (_, j) => sorted[(k - 1 - j + 2 * n) % n]!.p);
      const fingers: [number, SimPeer][] = [];
      // As many fingers as ChordTopology.fingerCount() will keep: down to the farthest successor.
      const far = successors.length ? ring.dist(id, toBig(successors[successors.length - 1]!.nodeId)) : 0n;
      const count = far > 0n ? Math.min(ring.bits, Math.max(c.fingers, ring.bits - (far.toString(2).length - 1))) : c.fingers;
      for (let i = 1; i <= count; i++) {
        const start = ring.fingerStart(id, i);
        const f = sorted[successorIndex(start)]!;
        const end = i === 1 ? id : ring.fingerStart(id, i - 1);
        if (f.p !== p && (f.id === start || ring.inOpen(f.id, start, end))) fingers.push([i, f.p]);
      }
      const wanted = new Set<SimPeer>([...successors, ...predecessors, ...fingers.map(([, f]) => f)]);
      await Promise.all([...wanted].map((q) => p.node.connect('memory', q.address)));
      (p.node.topology as ChordTopology).installTables({
        successors: successors.map((q) => q.nodeId),
        predecessors: predecessors.map((q) => q.nodeId),
        fingers: fingers.map(([i, q]) => [i, q.nodeId]),
      });
      p.state = 'up';
      p.joinedAtMs = this.clock.now();
      this.setLive(p, true);
      if (++done % 500 === 0) {
        await this.driver.settle(1);
        this.progress('wire', done, n);
      }
    }
    await this.driver.settle(1_000);
    return n;
  }

  /**
   * Checks every live peer's first successor and predecessor against the true ring.
   */
  ringCheck(): SimulationReport['ring'] {
    const live = this.live().filter((p) => p.node.topology && (p.node.topology as ChordTopology).isJoined);
    const sorted = live.map((p) => ({ p, hex: toHex(p.nodeId) })).sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
    let wrongS = 0;
    let wrongP = 0;
    let table = 0;
    sorted.forEach(({ p }, i) => {
      const snap = p.node.topology.snapshot();
      const succ = sorted[(i + 1) % sorted.length]!.hex;
      const pred = sorted[(i - 1 + sorted.length) % sorted.length]!.hex;
      if (sorted.length > 1) {
        if (!snap.successors[0] || toHex(snap.successors[0]) !== succ) wrongS++;
        if (!snap.predecessors[0] || toHex(snap.predecessors[0]) !== pred) wrongP++;
      }
      table += new Set([...snap.successors, ...snap.predecessors, ...snap.fingers].map(toHex)).size;
    });
    return {
      peers: sorted.length,
      consistent: wrongS === 0 && wrongP === 0,
      wrong_successor: wrongS,
      wrong_predecessor: wrongP,
      mean_routing_table: sorted.length ? round(table / sorted.length, 2) : 0,
    };
  }

  /** Runs until every live peer has its true successor and predecessor (checked every 5 s). */
  async waitConverged(limitMs: number): Promise<boolean> {
    const end = this.clock.now() + limitMs;
    for (;;) {
      if (this.ringCheck().consistent) return true;
      if (this.clock.now() >= end) return false;
      await this.driver.settle(5_000);
    }
  }

  // ------------------------------------------------------------------ values

  /** Stores `count` values from random peers (each through the real Store, replicated). */
  async storeValues(count: number): Promise<number> {
    const live = this.live();
    const lifetimeS = Math.ceil((this.options.churn?.durationMs ?? 0) / 1000) + 24 * 3600;
    const jobs: Promise<void>[] = [];
    let stored = 0;
    for (let k = 0; k < count; k++) {
      let peer: SimPeer | undefined;
      let i = 0;
      for (let tries = 0; tries < 100; tries++) {
        const cand = live[this.random.int(live.length)]!;
        i = (this.storesByPeer.get(cand) ?? 0) + 1;
        if (i <= this.maxValuesPerPeer) {
          peer = cand;
          break;
        }
      }
      if (!peer) throw new Error('too many values for the peers (NODE-MULTIPLE limit)');
      this.storesByPeer.set(peer, i);
      const resourceId = nodeMultipleResourceId((d) => resourceIdOf(d, this.params.nodeIdLength), peer.nodeId, i);
      const v: SimValue = { resourceId, value: utf8(`value ${k} from peer ${peer.host}`), stored: false };
      this.values.push(v);
      const p = peer;
      jobs.push(
        p.node
          .storeValues({ id: resourceId }, SIM_VALUE_KIND, [{ model: 'single', value: v.value }], { lifetimeS })
          .then(
            () => {
              v.stored = true;
              stored++;
            },
            () => undefined,
          ),
      );
      if (k % 100 === 99) {
        await this.driver.settle(50);
        this.progress('store', k + 1, count);
      }
    }
    await this.driver.run(Promise.all(jobs), 600_000);
    // Let replication finish.
    await this.driver.settle(2_000);
    this.progress('store', count, count);
    return stored;
  }

  /** One Fetch of a stored value from `origin` (real request, real verification). */
  async lookup(origin: SimPeer, v: SimValue): Promise<LookupResult> {
    const t0 = this.clock.now();
    const node = origin.node;
    const body = encodeBody(MessageCode.fetchReq, { resource: v.resourceId, specifiers: [{ kind: SIM_VALUE_KIND, generation: 0n, model: 'single' }] }, this.kinds);
    try {
      const ans = await node.request([{ type: 'resource', id: v.resourceId }], MessageCode.fetchReq, body);
      const fetched = decodeBody(MessageCode.fetchAns, ans.body, this.kinds);
      const k = fetched.kindResponses.find((r) => r.kind === SIM_VALUE_KIND);
      let ok = false;
      if (k) {
        const checked = verifyFetched(v.resourceId, k, ans.certificates, this.trust, 'single');
        ok = checked.values.some((x) => !x.synthetic && x.data.value.model === 'single' && x.data.value.value.exists && bytesEqual(x.data.value.value.value, v.value));
      }
      if (!ok) this.noteFailure(k ? 'value missing or not verified' : 'kind missing in answer');
      return { ok, hops: ans.hops, latencyMs: this.clock.now() - t0, aborted: false };
    } catch (err) {
      const aborted = origin.state !== 'up';
      if (!aborted) this.noteFailure((err as Error).message.replace(/[0-9a-f]{16,}/g, '…').slice(0, 80));
      return { ok: false, hops: 0, latencyMs: this.clock.now() - t0, aborted };
    }
  }

  /** Why lookups failed (message → count), for the report. */
  readonly failures = new Map<string, number>();

  private noteFailure(why: string): void {
    this.failures.set(why, (this.failures.get(why) ?? 0) + 1);
  }

  private record(r: LookupResult, series?: WindowedRate, atMs?: number): void {
    if (r.aborted) {
      this.lookupsAborted++;
      return;
    }
    this.lookupsCounted++;
    series?.add(atMs ?? this.clock.now(), r.ok);
    if (r.ok) {
      this.lookupsOk++;
      this.hops.add(r.hops);
      this.latencies.add(r.latencyMs);
    }
  }

  private randomLive(): SimPeer | undefined {
    const live = this.liveArray();
    return live.length ? live[this.random.int(live.length)] : undefined;
  }

  /**
   * Issues `count` lookups, one every `intervalMs` of virtual time, from random live peers
   * to random stored values, and waits for all of them.
   */
  async runLookups(count: number, intervalMs: number, series?: WindowedRate, record = true): Promise<{ ok: number; total: number }> {
    const stored = this.values.filter((v) => v.stored && !v.destroyed);
    if (stored.length === 0) return { ok: 0, total: 0 };
    let ok = 0;
    let total = 0;
    const pending = new Set<Promise<void>>();
    for (let i = 0; i < count; i++) {
      const origin = this.randomLive();
      if (!origin) break;
      const v = stored[this.random.int(stored.length)]!;
      const at = this.clock.now();
      const p = this.lookup(origin, v).then((r) => {
        pending.delete(p);
        if (!r.aborted) {
          total++;
          if (r.ok) ok++;
        }
        if (record) this.record(r, series, at);
        else series?.add(at, r.ok);
      });
      pending.add(p);
      if (intervalMs > 0) await this.driver.settle(intervalMs);
      if (i % 1000 === 999) this.progress('lookups', i + 1, count);
    }
    // allSettled of a snapshot, not a race per completion: a race over thousands of pending
    // promises attaches a reaction to each of them every time (quadratic).
    while (pending.size > 0) await this.driver.run(Promise.allSettled([...pending]), 600_000);
    this.progress('lookups', count, count);
    return { ok, total };
  }

  // ------------------------------------------------------------------ scenarios

  private markPhase(): void {
    this.accountPeerSeconds();
    this.phaseMark = { atMs: this.clock.now(), traffic: this.traffic.snapshot(), peerSeconds: this.peerSeconds };
  }

  private endPhase(): void {
    const m = this.phaseMark;
    if (!m) return;
    this.accountPeerSeconds();
    const ps = this.peerSeconds - m.peerSeconds;
    if (ps <= 0) return;
    this.phaseRates = {
      maintenance: (this.traffic.maintenanceMsgs - m.traffic.maintenanceMsgs) / ps,
      maintenanceBytes: (this.traffic.maintenanceBytes - m.traffic.maintenanceBytes) / ps,
      storage: (this.traffic.storageMsgs - m.traffic.storageMsgs) / ps,
    };
  }

  /**
   * Stable scenario: lookups at `lookupRatePerS`. Maintenance rates are measured from here
   * to the end of the settling period that follows (at least two update intervals).
   */
  async stable(lookups: number): Promise<void> {
    this.markPhase();
    const rate = this.options.lookupRatePerS ?? 500;
    await this.runLookups(lookups, 1000 / rate);
  }

  /** Churn scenario: sessions end, peers leave or crash and are replaced; lookups throughout. */
  async runChurn(spec: ChurnSpec, lookups: number): Promise<void> {
    this.markPhase();
    const start = this.clock.now();
    const end = start + spec.durationMs;
    const series = new WindowedRate(Math.max(60_000, Math.round(spec.durationMs / 60)), start);
    const info = { spec: formatChurnSpec(spec), departures: 0, crashes: 0, leaves: 0, arrivals: 0, joins_failed: 0, aborted_lookups: 0, success_over_time: [] as { t_s: number; rate: number; lookups: number }[] };
    const arrivals = new Set<Promise<unknown>>();
    const scheduleDeparture = (peer: SimPeer): void => {
      const at = this.clock.now() + sessionTimeMs(spec, this.random);
      if (at >= end) return;
      this.clock.setTimeout(() => {
        if (peer.state !== 'up') return;
        info.departures++;
        if (this.random.float() < spec.crashFraction) {
          info.crashes++;
          this.crash(peer);
        } else {
          info.leaves++;
          void this.leave(peer);
        }
        // A new peer arrives in its place.
        info.arrivals++;
        const fresh = this.createPeer();
        const job: Promise<unknown> = this.identities.prepare(1).then(() => this.join(fresh)).then((ok) => {
          arrivals.delete(job);
          if (ok) scheduleDeparture(fresh);
          else info.joins_failed++;
        });
        arrivals.add(job);
      }, at - this.clock.now());
    };
    for (const p of this.live()) scheduleDeparture(p);
    const abortedBefore = this.lookupsAborted;
    await this.runLookups(lookups, spec.durationMs / Math.max(1, lookups), series);
    await this.driver.runUntil(Math.max(end, this.clock.now()));
    while (arrivals.size > 0) await this.driver.run(Promise.allSettled([...arrivals]), 600_000);
    info.aborted_lookups = this.lookupsAborted - abortedBefore;
    info.success_over_time = series.series().map((s) => ({ t_s: round(s.startMs / 1000, 1), rate: round(s.rate, 5), lookups: s.attempts }));
    this.churnInfo = info;
    this.progress('churn', 1, 1);
  }

  /**
   * Mass failure: `percent` of the live peers crash at once. Lookups run on (probes, not
   * counted in the headline figures) until the ring has reconverged and a window of lookups
   * succeeds at ≥ 99.9 %; then `lookups` counted lookups measure the repaired overlay.
   */
  async fail(percent: number, lookups: number, limitMs = 3_600_000): Promise<void> {
    const live = this.live();
    const kill = Math.round((live.length * percent) / 100);
    const victims: SimPeer[] = [];
    for (let i = 0; i < kill; i++) victims.push(live.splice(this.random.int(live.length), 1)[0]!);
    const t0 = this.clock.now();
    this.markPhase();
    // Values whose every copy sits on a victim are gone with them (≈ share³ of the values
    // with 3 copies): counted, and left out of the lookups that measure the repair.
    const dying = new Set(victims);
    const holders = new Map<string, number>();
    for (const p of this.live()) {
      if (dying.has(p)) continue;
      for (const r of p.node.storage.resources()) holders.set(toHex(r), (holders.get(toHex(r)) ?? 0) + 1);
    }
    let destroyed = 0;
    for (const v of this.values) {
      if (v.stored && !holders.has(toHex(v.resourceId))) {
        v.destroyed = true;
        destroyed++;
      }
    }
    for (const v of victims) this.crash(v);
    const series = new WindowedRate(10_000, t0);
    let reconverged: number | null = null;
    let recovered: number | null = null;
    // Probe lookups in 10 s windows (not counted in the headline figures).
    const probeRate = Math.max(20, Math.min(200, Math.round(live.length / 10)));
    while (this.clock.now() - t0 < limitMs) {
      const r = await this.runLookups(probeRate * 10, 1000 / probeRate, series, false);
      if (reconverged === null && this.ringCheck().consistent) reconverged = this.clock.now() - t0;
      if (recovered === null && r.total > 0 && r.ok / r.total >= 0.999) recovered = this.clock.now() - t0;
      if (reconverged !== null && recovered !== null) break;
    }
    const after = await this.runLookups(lookups, 1000 / (this.options.lookupRatePerS ?? 500));
    this.failInfo = {
      percent,
      killed: kill,
      values_destroyed: destroyed,
      values_destroyed_expected: round(this.values.filter((v) => v.stored).length * allKilled(live.length + kill, kill, 1 + this.chord.replicas), 2),
      reconverge_s: reconverged === null ? null : round(reconverged / 1000, 1),
      success_recovered_s: recovered === null ? null : round(recovered / 1000, 1),
      success_after: after.total ? round(after.ok / after.total, 5) : 0,
      lookups_after: after.total,
      success_over_time: series.series().map((s) => ({ t_s: round(s.startMs / 1000, 1), rate: round(s.rate, 5), lookups: s.attempts })),
    };
  }

  /** Values no live peer holds (ground truth), and values a Fetch through the overlay misses. */
  async checkValues(): Promise<{ lost: number; unfetchable: number }> {
    const held = new Set<string>();
    for (const p of this.live()) for (const r of p.node.storage.resources()) held.add(toHex(r));
    const stored = this.values.filter((v) => v.stored);
    const lost = stored.filter((v) => !held.has(toHex(v.resourceId))).length;
    let unfetchable = 0;
    const jobs: Promise<void>[] = [];
    for (const v of stored) {
      if (v.destroyed) continue;
      const origin = this.randomLive();
      if (!origin) break;
      jobs.push(
        this.lookup(origin, v).then((r) => {
          if (!r.ok) unfetchable++;
        }),
      );
    }
    await this.driver.run(Promise.all(jobs), 600_000);
    return { lost, unfetchable };
  }

  // ------------------------------------------------------------------ the whole run

  /** Builds, stores, runs the scenario and reports. */
  async run(): Promise<SimulationReport> {
    await this.build();
    await this.options.afterBuild?.(this);
    const valueCount = this.options.values ?? Math.min(this.options.nodes, 1000);
    await this.storeValues(valueCount);
    const lookups = this.options.lookups ?? 1000;
    if (this.options.churn) await this.runChurn(this.options.churn, lookups);
    else if (this.options.failPercent !== undefined) await this.fail(this.options.failPercent, lookups);
    else await this.stable(lookups);
    return this.report();
  }

  async report(): Promise<SimulationReport> {
    // Maintenance rates are measured over at least two update intervals from the start of
    // the scenario; after churn or a mass failure the overlay also settles (replica hold-down,
    // a finger round) before the final data check. A stable ring needs no more than the
    // measuring window (at 10,000 peers each virtual second of settling costs CPU seconds).
    const measured = this.phaseMark ? this.clock.now() - this.phaseMark.atMs : 0;
    const disturbed = this.options.churn !== undefined || this.options.failPercent !== undefined;
    const settleMs = Math.max(
      2 * this.chord.updateIntervalMs - measured,
      disturbed ? Math.max(this.chord.replicaHoldDownMs, this.chord.fingerIntervalMs) : 0,
    );
    if (settleMs > 0) await this.driver.settle(settleMs);
    this.endPhase();
    const { lost, unfetchable } = await this.checkValues();
    this.accountPeerSeconds();
    const h = this.hops.summary();
    const l = this.latencies.summary();
    const rates = this.phaseRates ?? { maintenance: 0, maintenanceBytes: 0, storage: 0 };
    const cpu = process.cpuUsage(this.startCpu);
    const ring = this.ringCheck();
    return {
      nodes: this.options.nodes,
      seed: String(this.options.seed),
      lookups: this.lookupsCounted,
      success_rate: this.lookupsCounted ? round(this.lookupsOk / this.lookupsCounted, 5) : 0,
      hops: { mean: round(h.mean, 3), p50: h.p50, p99: h.p99, max: h.max },
      latency_ms: { mean: round(l.mean, 1), p50: l.p50, p99: l.p99 },
      values_stored: this.values.filter((v) => v.stored).length,
      values_lost: lost,
      values_unfetchable: unfetchable,
      maintenance_msgs_per_peer_s: round(rates.maintenance, 4),
      maintenance_bytes_per_peer_s: round(rates.maintenanceBytes, 1),
      storage_msgs_per_peer_s: round(rates.storage, 4),
      wall_s: round((performance.now() - this.startWall) / 1000, 1),
      cpu_s: round((cpu.user + cpu.system) / 1e6, 1),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      virtual_s: round((this.clock.now() - SIM_EPOCH_MS) / 1000, 1),
      ring,
      build: this.buildInfo ?? { mode: 'join', joined: 0, failed: 0, converge_s: null, wall_s: 0 },
      ...(this.churnInfo ? { churn: this.churnInfo } : {}),
      ...(this.failInfo ? { fail: this.failInfo } : {}),
      ...(this.landmarkInfo ? { nearest_capable_rtt_ms: this.landmarkInfo } : {}),
      options: {
        signatures: this.scheme.name,
        link: this.linkMode === 'stream' ? 'TLS-TCP-FH model (pipelined, failure hint after max(RTO, 1 s))' : 'DTLS-UDP Simple Reliability model (stop-and-wait)',
        key_pool: this.options.keyPool ?? 0,
        bootstrap: this.options.bootstrap ?? 'join',
        latency: this.latency.description,
        join_interval_ms: this.options.joinIntervalMs ?? 200,
        lookup_rate_per_s: this.options.lookupRatePerS ?? 500,
        chord: this.chord,
        replicas: this.chord.replicas,
      },
      cheap: this.cheapModes,
      failures: Object.fromEntries([...this.failures].sort((a, b) => b[1] - a[1])),
      hop_histogram: this.hops.histogram(),
      ring_positions: this.live().map((p) => [((p.nodeId[0]! << 24) | (p.nodeId[1]! << 16) | (p.nodeId[2]! << 8) | p.nodeId[3]!) >>> 0, p.region] as [number, number]).map(([v, r]) => [round(v / 2 ** 32, 6), r] as [number, number]),
    };
  }

  /** Stops every node (end of run). */
  async close(): Promise<void> {
    for (const p of this.peers) {
      if (p.state === 'up' || p.state === 'joining') await p.node.stop().catch(() => undefined);
    }
  }
}

/** P(all of `copies` distinct peers are among `killed` of `peers` chosen at random). */
function allKilled(peers: number, killed: number, copies: number): number {
  let p = 1;
  for (let i = 0; i < copies; i++) p *= Math.max(0, killed - i) / (peers - i);
  return p;
}
