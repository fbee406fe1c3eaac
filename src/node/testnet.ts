/**
 * A deterministic test network (STYLE.md practice 11): N RELOAD peers in one process on
 * the in-memory link, driven by a VirtualClock, sharing one overlay CA. Tests, the
 * simulator and users' own usage tests start an overlay with it in milliseconds of
 * virtual time.
 */
import { VirtualClock } from '../common/clock.js';
import { type Logger, silentLogger } from '../common/log.js';
import { SeededRandom } from '../common/random.js';
import { MemoryNetwork, MemoryTransport } from '../link/memory.js';
import type { LinkAddress } from '../link/types.js';
import type { Credentials } from '../security/credentials.js';
import { NODE_CRYPTO_INLINE_SIGNATURES } from '../security/signature-scheme.js';
import { CertificateStore } from '../security/trust.js';
import { KindRegistry, type KindDefinition } from '../storage/kinds.js';
import { PolicyRegistry } from '../storage/policies.js';
import { DataStore } from '../storage/store.js';
import { topologyFactory } from '../../topology/index.js';
import type { ChordOptions } from '../../topology/chord/chord.js';
import { type ReloadNode as ReloadNodeType, ReloadNode } from './node.js';
import { type OverlayParameters, overlayParameters } from './parameters.js';
import type { LivenessOptions } from './liveness.js';

export interface TestnetOptions {
  overlay: string;
  /** Root certificate (DER) the nodes trust. */
  rootCertificate: Uint8Array;
  clock?: VirtualClock;
  seed?: number | string;
  latencyMs?: (from: LinkAddress, to: LinkAddress) => number;
  kinds?: Omit<KindDefinition, 'source'>[];
  chord?: Partial<ChordOptions>;
  params?: Partial<OverlayParameters>;
  log?: Logger;
  /** Link model of every node: 'simple' (default, datagram SR) or 'stream' (TLS/TCP-like). */
  link?: 'simple' | 'stream';
  /** Idle-link Ping and rejoin tunables of every node. */
  liveness?: Partial<LivenessOptions>;
}

export class Testnet {
  readonly clock: VirtualClock;
  readonly network: MemoryNetwork;
  readonly nodes: ReloadNodeType[] = [];
  private readonly random: SeededRandom;
  private readonly params: OverlayParameters;
  private bootstrap: LinkAddress | undefined;
  private nextHost = 1;

  constructor(readonly options: TestnetOptions) {
    // Certificates are issued in real time: start the virtual clock at the real now.
    this.clock = options.clock ?? new VirtualClock(Date.now());
    this.random = new SeededRandom(options.seed ?? 1);
    this.network = new MemoryNetwork({ clock: this.clock, ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}) });
    this.params = overlayParameters({ overlayName: options.overlay, ...options.params });
  }

  /** Builds a node (not started) with the given credentials. */
  createNode(credentials: Credentials, role: 'peer' | 'client' = 'peer', opts: { bootstrap?: LinkAddress[] } = {}): ReloadNodeType {
    const clock = this.clock;
    const policies = new PolicyRegistry();
    const kinds = new KindRegistry({ policies, nodeIdLength: this.params.nodeIdLength });
    for (const k of this.options.kinds ?? []) kinds.register({ ...k, source: 'testnet' });
    const certificates = new CertificateStore(
      { overlay: this.options.overlay, rootCerts: [this.options.rootCertificate], nodeIdLength: this.params.nodeIdLength },
      clock,
    );
    const storage = new DataStore({ kinds, policies, clock, certificates });
    const host = `10.0.${(this.nextHost >> 8) & 0xff}.${this.nextHost & 0xff}`;
    this.nextHost++;
    const network = this.network;
    const first = this.nodes.length === 0 && role === 'peer';
    const node = new ReloadNode({
      params: this.params,
      credentials,
      certificates,
      kinds,
      storage,
      transports: [
        {
          kind: 'memory',
          create: (o) => new MemoryTransport(network, { ...o, certificate: credentials.certificate.der, reliability: this.options.link ?? 'simple' }),
          listen: { host, port: 6084 },
        },
      ],
      bootstrap: (opts.bootstrap ?? (this.bootstrap ? [this.bootstrap] : [])).map((address) => ({ kind: 'memory' as const, address })),
      topology: { factory: topologyFactory('CHORD-RELOAD'), params: { ...this.options.chord } },
      role,
      firstNode: first,
      clock,
      random: new SeededRandom(`${this.options.seed ?? 1}/${this.nodes.length}`),
      log: this.options.log ?? silentLogger,
      // Virtual time: signatures are computed inline (see NODE_CRYPTO_INLINE_SIGNATURES).
      signatures: NODE_CRYPTO_INLINE_SIGNATURES,
      ...(this.options.liveness ? { liveness: this.options.liveness } : {}),
    });
    if (first) this.bootstrap = { host, port: 6084 };
    this.nodes.push(node);
    return node;
  }

  /** Creates and starts a node, driving the clock until it has joined. */
  async add(credentials: Credentials, role: 'peer' | 'client' = 'peer'): Promise<ReloadNodeType> {
    const node = this.createNode(credentials, role);
    await this.run(node.start());
    return node;
  }

  /**
   * Awaits `promise` while advancing virtual time: flushes pending I/O and microtasks,
   * then fires the next timer, until the promise settles (or `limitMs` of virtual time).
   */
  async run<T>(promise: Promise<T>, limitMs = 3_600_000): Promise<T> {
    return drive(this.clock, promise, limitMs);
  }

  /** Lets `ms` of virtual time pass, processing everything due. */
  async settle(ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    for (;;) {
      await flush();
      const due = this.clock.nextDue();
      if (due === undefined || due > until) break;
      this.clock.step();
    }
    await flush();
    this.clock.runUntil(until);
  }

  get randomSource(): SeededRandom {
    return this.random;
  }
}

function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Awaits `promise` on a virtual clock (see Testnet.run). */
export async function drive<T>(clock: VirtualClock, promise: Promise<T>, limitMs = 3_600_000): Promise<T> {
  let settled = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e) => {
      settled = true;
      error = e;
    },
  );
  const end = clock.now() + limitMs;
  for (;;) {
    await flush();
    if (settled) break;
    if (clock.now() > end) throw new Error(`virtual time limit of ${limitMs} ms reached`);
    if (!clock.step()) {
      await flush();
      if (settled) break;
      throw new Error('stalled: promise pending with no timer left');
    }
  }
  if (error !== undefined) throw error;
  return value as T;
}
