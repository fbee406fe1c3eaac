/**
 * bench/overlay: Store and Fetch transactions per second through a 5-peer loopback overlay
 * on TLS (one process), printed beside the crypto-bound rate: the cost of the signatures
 * those transactions need at the sign and verify rates of one thread, measured in the same
 * run. With more than one CPU it also prints the bound of all CPUs' crypto (measured in
 * parallel on the thread pool), which one event loop doing all non-signing work cannot
 * reach: the figure that shows how far a single process scales.
 *
 * With more than one CPU the nodes sign on libuv's thread pool (async node:crypto), so a
 * transaction rate can exceed what one thread's crypto allows (that ratio is printed too);
 * with one CPU they sign inline (NODE_CRYPTO_SIGNATURES). To measure on one core:
 * `taskset -c 0 node dist/bench/run.js overlay`. The bench prints how many CPUs it may use.
 *
 * Signatures per transaction (RSA-2048, RSASSA-PKCS1-v1_5/SHA-256, node:crypto):
 *   Store (2 replicas): value + StoreReq signed by the writer; StoreReq and value verified
 *     at the storing peer, which signs its StoreAns (verified by the writer); then per
 *     replica a signed StoreReq, verified with its value, answered by a signed StoreAns the
 *     storing peer verifies: 7 signatures, 9 verifications.
 *   Fetch: FetchReq signed and verified, FetchAns signed and verified, the value's
 *     signature verified by the reader: 2 signatures, 3 verifications.
 * Intermediate peers verify nothing (they forward on the forwarding header). These counts
 * were checked by counting the sign/verify calls of the signature scheme in a debug run.
 *
 * The machine may be shared: the crypto rates are sampled right before and right after each
 * phase (max(1, seconds/4) s of signing and of verifying each time) and each phase is
 * compared with the samples around it, so a change of load between a phase and a single
 * crypto measurement at the end cannot skew its ratio.
 *
 * Both rates are steady-state rates: the crypto loop is native code, warm from its first
 * call, so the overlay first runs the same Store and Fetch load untimed for --warmup
 * seconds (JIT compilation, heap growth, first contacts), then each phase is timed.
 *
 * Options: --seconds=N (per phase, default 8), --concurrency=N (default 16), --warmup=N
 * (untimed seconds before the phases, default 2; 0 times from a cold start).
 */
import { sign, verify } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateRsaKey, issueCertificate } from '../certs/ca.js';
import { saveIdentity } from '../certs/enrollment-client.js';
import { initOverlay } from '../certs/overlay-admin.js';
import type { KindDefinition } from '../src/config/types.js';
import { createNodeFromIdentity } from '../src/node/create.js';
import type { ReloadNode } from '../src/node/node.js';
import { concatBytes } from '../src/wire/codec.js';
import { resourceIdOf } from '../src/wire/ids.js';
import { NODE_CRYPTO_SIGNATURES } from '../src/security/signature-scheme.js';

const KIND = 0xf0000042;
const SIGNS = { store: 7, fetch: 2 };
const VERIFIES = { store: 9, fetch: 3 };

/** --name=N (the runner passes only dash-arguments to modules). */
function option(args: string[], name: string, dflt: number, allowZero = false): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!(v > 0 || (allowZero && v === 0))) throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  return v;
}

/** Signs and verifies counted over a measured time (ms each). */
interface CryptoSample {
  signs: number;
  signMs: number;
  verifies: number;
  verifyMs: number;
}

/** Signs, then verifies, with RSA-2048 on a message-sized input for `seconds` each. */
function cryptoSample(key: ReturnType<typeof generateRsaKey>, seconds: number): CryptoSample {
  const data = randomBytes(600);
  let n = 0;
  let t0 = performance.now();
  let sig = sign('sha256', data, key.privateKey);
  while (performance.now() - t0 < seconds * 1000) {
    sig = sign('sha256', data, key.privateKey);
    n++;
  }
  const signs = n;
  const signMs = performance.now() - t0;
  n = 0;
  t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    verify('sha256', data, key.publicKey, sig);
    n++;
  }
  return { signs, signMs, verifies: n, verifyMs: performance.now() - t0 };
}

/**
 * The same with `parallel` signatures (then verifications) in flight on libuv's thread pool:
 * what all the CPUs the process may use can sign and verify (with 4 per CPU in flight the
 * pool's threads never wait for the event loop to hand them the next one).
 */
async function parallelCryptoSample(key: ReturnType<typeof generateRsaKey>, seconds: number, parallel: number): Promise<CryptoSample> {
  const data = randomBytes(600);
  const sig = sign('sha256', data, key.privateKey);
  const run = async (op: (done: () => void) => void): Promise<{ n: number; ms: number }> => {
    const t0 = performance.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (performance.now() - t0 < seconds * 1000) {
          await new Promise<void>((resolve) => op(resolve));
          n++;
        }
      }),
    );
    return { n, ms: performance.now() - t0 };
  };
  const signed = await run((done) => sign('sha256', data, key.privateKey, () => done()));
  const verified = await run((done) => verify('sha256', data, key.publicKey, sig, () => done()));
  return { signs: signed.n, signMs: signed.ms, verifies: verified.n, verifyMs: verified.ms };
}

/**
 * Waits until no node has a transaction pending (replication runs on after the Store
 * answers), at most 5 s: a crypto sample blocks the event loop, which must not stall traffic
 * in flight (late acks would mark links suspect, late answers cause retransmissions).
 */
async function settle(nodes: ReloadNode[]): Promise<void> {
  const until = performance.now() + 5000;
  let quiet = 0;
  while (quiet < 2 && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    quiet = nodes.every((n) => n.router.pendingTransactions === 0) ? quiet + 1 : 0;
  }
}

/** Sign and verify rates over the samples taken just before and just after a phase. */
function cryptoRates(before: CryptoSample, after: CryptoSample): { signPerS: number; verifyPerS: number } {
  return {
    signPerS: ((before.signs + after.signs) * 1000) / (before.signMs + after.signMs),
    verifyPerS: ((before.verifies + after.verifies) * 1000) / (before.verifyMs + after.verifyMs),
  };
}

export async function overlay(size: number): Promise<ReloadNode[]> {
  const dir = await mkdtemp(join(tmpdir(), 'reload-bench-'));
  const kinds: KindDefinition[] = [
    { id: KIND, dataModel: 'SINGLE', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 1024, maxNodeMultiple: 20, extensions: [], extensionAttributes: [] },
  ];
  const ov = await initOverlay({ name: 'bench.example.org', dir: join(dir, 'operator'), kinds, enrollmentUrl: 'https://127.0.0.1:1/enroll' });
  const nodes: ReloadNode[] = [];
  for (let i = 0; i < size; i++) {
    const key = generateRsaKey();
    const certificateDer = issueCertificate(ov.ca, { publicKey: key.publicKey, userName: `peer${i}@bench.example.org`, nodeIds: [new Uint8Array(randomBytes(16))] });
    const idDir = join(dir, `id${i}`);
    await saveIdentity(idDir, { config: ov.configuration, configurationBytes: ov.configurationBytes, certificateDer, privateKey: key.privateKey });
    const { node } = await createNodeFromIdentity(idDir, {
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      ...(i === 0 ? { firstNode: true } : { bootstrap: [nodes[0]!.addresses[0]!.address] }),
    });
    await node.start();
    nodes.push(node);
  }
  await new Promise((r) => setTimeout(r, 2000));
  return nodes;
}

/** Runs `op` with `concurrency` in flight for `seconds`; returns completed ops per second. */
async function load(seconds: number, concurrency: number, op: (i: number) => Promise<void>): Promise<{ perS: number; errors: number }> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          await op(next++);
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { perS: done / ((performance.now() - t0) / 1000), errors };
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, 'seconds', 8);
  const concurrency = option(args, 'concurrency', 16);
  const warmup = option(args, 'warmup', 2, true);
  const nodes = await overlay(5);
  try {
    // Every writer stores under Hash(Node-ID || i), i = 1..20 (NODE-MULTIPLE, the TURN
    // usage's limit), 100 resources spread over the ring.
    const target = (i: number): { node: ReloadNode; resource: Uint8Array } => {
      const node = nodes[i % nodes.length]!;
      const k = 1 + (Math.floor(i / nodes.length) % 20);
      return { node, resource: resourceIdOf(concatBytes(node.nodeId, new Uint8Array([k]))) };
    };
    const value = randomBytes(200);
    const storeOp = async (i: number): Promise<void> => {
      const { node, resource } = target(i);
      await node.storeValues({ id: resource }, KIND, [{ model: 'single', value }]);
    };
    const fetchOp = async (i: number): Promise<void> => {
      const { resource } = target(i);
      const r = await nodes[(i + 2) % nodes.length]!.fetchValues({ id: resource }, KIND);
      if (r.values.length !== 1) throw new Error('value missing');
    };
    if (warmup > 0) {
      await load(warmup / 2, concurrency, storeOp);
      await load(warmup / 2, concurrency, fetchOp);
    }
    const key = generateRsaKey();
    const sampleSeconds = Math.max(1, seconds / 4);
    const cpus = availableParallelism();
    // One thread's rates, and (with more CPUs) all CPUs' rates, sampled around each phase.
    const sample = async (): Promise<{ one: CryptoSample; all: CryptoSample }> => {
      const one = cryptoSample(key, sampleSeconds);
      return { one, all: cpus > 1 ? await parallelCryptoSample(key, sampleSeconds, 4 * cpus) : one };
    };
    await settle(nodes);
    const s0 = await sample();
    const store = await load(seconds, concurrency, storeOp);
    await settle(nodes);
    const s1 = await sample();
    const fetch = await load(seconds, concurrency, fetchOp);
    await settle(nodes);
    const s2 = await sample();
    type Rates = { signPerS: number; verifyPerS: number };
    const rates: Record<'one' | 'all', Record<'store' | 'fetch', Rates>> = {
      one: { store: cryptoRates(s0.one, s1.one), fetch: cryptoRates(s1.one, s2.one) },
      all: { store: cryptoRates(s0.all, s1.all), fetch: cryptoRates(s1.all, s2.all) },
    };
    const bound = (r: Rates, kind: 'store' | 'fetch'): number => 1 / (SIGNS[kind] / r.signPerS + VERIFIES[kind] / r.verifyPerS);
    // All CPUs can do at least what one thread does (the pool's hand-over makes a 25 µs
    // verification dearer than inline, and the nodes verify inline).
    const allCpus = (k: 'store' | 'fetch'): Rates => ({
      signPerS: Math.max(rates.all[k].signPerS, rates.one[k].signPerS),
      verifyPerS: Math.max(rates.all[k].verifyPerS, rates.one[k].verifyPerS),
    });
    const signing = NODE_CRYPTO_SIGNATURES.signAsync ? 'signing on the thread pool' : 'signing inline';
    console.log(`5 peers, TLS on loopback, one process on ${cpus} CPU${cpus === 1 ? '' : 's'} (${signing}); ${concurrency} transactions in flight, ${seconds} s per phase after ${warmup} s untimed warm-up`);
    for (const k of ['store', 'fetch'] as const) {
      const one = rates.one[k];
      const all = allCpus(k);
      const more = cpus > 1 ? `; all ${cpus} CPUs: sign ${all.signPerS.toFixed(0)}/s, verify ${all.verifyPerS.toFixed(0)}/s` : '';
      console.log(`RSA-2048 around ${k} (same run): one thread: sign ${one.signPerS.toFixed(0)}/s, verify ${one.verifyPerS.toFixed(0)}/s${more}`);
    }
    for (const [name, r] of [['store', store], ['fetch', fetch]] as const) {
      const one = bound(rates.one[name], name);
      console.log(
        `${name.padEnd(5)}  ${r.perS.toFixed(0).padStart(6)} tx/s  crypto-bound ${one.toFixed(0).padStart(6)} tx/s  ` +
          `(${SIGNS[name]} signs + ${VERIFIES[name]} verifies)  ratio ${((r.perS / one) * 100).toFixed(0)}%  errors ${r.errors}`,
      );
      if (cpus > 1) {
        const all = bound(allCpus(name), name);
        console.log(`       with all ${cpus} CPUs' crypto: bound ${all.toFixed(0)} tx/s, ratio ${((r.perS / all) * 100).toFixed(0)}%`);
      }
    }
    console.log('target: at least 70% of the crypto-bound rate (like for like on one core: taskset -c 0)');
  } finally {
    for (const n of nodes) await n.stop();
  }
}
