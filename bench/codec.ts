/**
 * Codec throughput (`npm run bench -- codec`).
 *
 * 1. Encode + decode of a message mix — a Ping request, a Store of a 10-entry dictionary, a
 *    Fetch answer (three Kinds, two certificates) and a full CHORD Update — with our RELOAD
 *    codec and with cbor-x, on the SAME JavaScript objects (typed bodies with Uint8Array
 *    fields and bigints; security blocks with real certificates). cbor-x runs with shared
 *    record structures (its fastest mode: keys are sent once per structure, not per object).
 *    Ours: encodeBody + encodeMessage, then decodeMessage + decodeBody.
 * 2. The forwarding fast path: parse the forwarding header only, append the previous hop to
 *    the Via List, decrement the TTL, re-emit without touching the body — first through the
 *    codec objects (decodeForwardingHeader / forwardingHeader.encode), then with
 *    src/wire/forward.ts working on the bytes.
 *
 * Every figure is the median of 7 timed runs, in messages per CPU-second of this process
 * (one JavaScript thread; CPU time rather than wall time so that other processes on the
 * machine do not distort it); min, max and the wall-clock median are shown. Targets: codec ratio ours / cbor-x ≥ 1.0; forwarding ≥ 1,000,000 msgs/s.
 */
import { Encoder } from 'cbor-x';
import { VirtualClock } from '../src/common/clock.js';
import { SeededRandom } from '../src/common/random.js';
import { type BodyCode, decodeBody, encodeBody } from '../src/wire/body.js';
import { buildCorpus } from '../src/wire/corpus.js';
import { type StoreReq, type StoredData } from '../src/wire/storage.js';
import { KindIds } from '../src/wire/constants.js';
import { wireContext } from '../src/wire/context.js';
import { Writer } from '../src/wire/codec.js';
import { forwardingHeader, forwardingHeaderSize } from '../src/wire/forwarding-header.js';
import { encodeViaEntry, forwardRequest, forwardResponse, rewriteHeader } from '../src/wire/forward.js';
import { type Message, decodeForwardingHeader, decodeMessage, encodeMessage } from '../src/wire/message.js';
import type { Destination } from '../src/wire/destination.js';
import { encodeSipRegistration } from '../usages/sip/registration.js';

interface Sample {
  name: string;
  code: BodyCode;
  /** The logical message: header, code, typed body, extensions, security block. */
  message: { header: Message['header']; contents: { code: number; body: unknown; extensions: Message['contents']['extensions'] }; security: Message['security'] };
}

/** The corpus's context: the IANA Kinds, 16-byte Node-IDs. */
const ctx = wireContext();

interface Figure {
  /** msgs per second of CPU time of this process (robust when other processes compete). */
  median: number;
  min: number;
  max: number;
  /** msgs per second of wall-clock time, median. */
  wall: number;
}

const RUNS = 7;
const RUN_MS = 300;
const WARMUP_MS = 600;

interface Variant {
  name: string;
  fn: () => void;
  /** Messages handled by one call of `fn`. */
  perCall: number;
}

/**
 * Measures several variants together: each is warmed up first (so that JIT compilation, which
 * runs on background threads and counts as CPU time, is over), then the timed runs are
 * interleaved — round r runs every variant once — so that slow drifts of the machine affect
 * them alike. Rates are per CPU-second of this process (user + system, so GC helper threads
 * count against the code measured), which stays meaningful on a loaded machine; the
 * wall-clock median is reported too.
 */
function measureAll(variants: Variant[]): Map<string, Figure> {
  const calls = new Map<string, number>();
  for (const v of variants) {
    let n = 0;
    const end = performance.now() + WARMUP_MS;
    while (performance.now() < end) {
      v.fn();
      n++;
    }
    calls.set(v.name, Math.max(1, Math.round((n * RUN_MS) / WARMUP_MS)));
  }
  const rates = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const walls = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const v of variants) {
      const n = calls.get(v.name)!;
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) v.fn();
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      rates.get(v.name)!.push((n * v.perCall) / Math.max(cpu, 1e-6));
      walls.get(v.name)!.push((n * v.perCall) / wall);
    }
  }
  const out = new Map<string, Figure>();
  const mid = Math.floor(RUNS / 2);
  for (const v of variants) {
    const rs = rates.get(v.name)!.sort((a, b) => a - b);
    const ws = walls.get(v.name)!.sort((a, b) => a - b);
    out.set(v.name, { median: rs[mid]!, min: rs[0]!, max: rs[RUNS - 1]!, wall: ws[mid]! });
  }
  return out;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const show = (f: Figure): string =>
  `${fmt(f.median).padStart(11)} msgs/s  (min ${fmt(f.min)}, max ${fmt(f.max)}; wall-clock ${fmt(f.wall)})`;

/** Structural equality where a bigint equals the same-valued number and bytes compare by content. */
function equivalent(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') return BigInt(a as number) === BigInt(b as number);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equivalent(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => equivalent((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

function samples(): Sample[] {
  const corpus = buildCorpus({ clock: new VirtualClock(Date.UTC(2026, 0, 1)), seed: 'bench' });
  const fromCorpus = (name: string): Sample => {
    const e = corpus.entries.find((x) => x.name === name)!;
    const m = decodeMessage(e.message);
    const code = m.contents.code as BodyCode;
    return {
      name,
      code,
      message: {
        header: m.header,
        contents: { code, body: decodeBody(code, m.contents.body, ctx), extensions: m.contents.extensions },
        security: m.security,
      },
    };
  };
  const ping = fromCorpus('ping_req');
  const fetch = fromCorpus('fetch_ans');
  const update = fromCorpus('update_req');

  // A Store of ten SIP-REGISTRATION dictionary entries (ten devices of one AOR), each with a
  // route value and an ECDSA-P-256-sized signature, in the corpus Store's header/security.
  const store = fromCorpus('store_req');
  const random = new SeededRandom('bench-store');
  const base = (store.message.contents.body as StoreReq).kindData[2]!.values[0]! as Extract<StoredData, { signature: object }>;
  const values: StoredData[] = Array.from({ length: 10 }, () => {
    const key = random.bytes(16);
    return {
      storageTime: base.storageTime,
      lifetime: 3600,
      value: {
        model: 'dictionary',
        key,
        value: {
          exists: true,
          value: encodeSipRegistration({ type: 'route', contactPrefs: '(sip.schemes=SIP)', destinations: [{ type: 'node', id: key }] }),
        },
      },
      signature: { ...base.signature, sigAlg: 3, value: random.bytes(64) },
    };
  });
  store.name = 'store_req (10-entry dictionary)';
  store.message.contents.body = {
    resource: (store.message.contents.body as StoreReq).resource,
    replicaNumber: 0,
    kindData: [{ kind: KindIds.sipRegistration, generationCounter: 41n, values }],
  } satisfies StoreReq;
  return [ping, store, fetch, update];
}

function encodeOurs(s: Sample): Uint8Array {
  const { header, contents, security } = s.message;
  return encodeMessage({
    header,
    contents: { code: contents.code, body: encodeBody(s.code, contents.body as never, ctx), extensions: contents.extensions },
    security,
  });
}

function decodeOurs(bytes: Uint8Array): unknown {
  const m = decodeMessage(bytes);
  const code = m.contents.code as BodyCode;
  return { header: m.header, contents: { code, body: decodeBody(code, m.contents.body, ctx), extensions: m.contents.extensions }, security: m.security };
}

export async function run(): Promise<void> {
  const mix = samples();
  const cbor = new Encoder({ structures: [], mapsAsObjects: true, tagUint8Array: false });

  process.stdout.write('\nmessage mix (bytes: ours / cbor-x)\n');
  const ours = mix.map(encodeOurs);
  const cbors = mix.map((s) => cbor.encode(s.message) as Uint8Array);
  mix.forEach((s, i) => {
    const back = decodeOurs(ours[i]!);
    const cborBack = cbor.decode(cbors[i]!) as unknown;
    const okOurs = equivalent(back, s.message);
    const okCbor = equivalent(cborBack, s.message);
    process.stdout.write(
      `  ${s.name.padEnd(34)} ${String(ours[i]!.length).padStart(5)} / ${String(cbors[i]!.length).padStart(5)}` +
        `   round-trip ours ${okOurs ? 'ok' : 'DIFFERS'}, cbor-x ${okCbor ? 'ok' : 'DIFFERS'}\n`,
    );
    if (!okOurs || !okCbor) throw new Error(`${s.name}: a codec does not round-trip the sample`);
  });

  const n = mix.length;
  const codecFigures = measureAll([
    { name: 'oursEnc', perCall: n, fn: () => mix.forEach(encodeOurs) },
    { name: 'cborEnc', perCall: n, fn: () => mix.forEach((s) => cbor.encode(s.message)) },
    { name: 'oursDec', perCall: n, fn: () => ours.forEach(decodeOurs) },
    { name: 'cborDec', perCall: n, fn: () => cbors.forEach((b) => cbor.decode(b)) },
    { name: 'oursBoth', perCall: n, fn: () => mix.forEach((s) => decodeOurs(encodeOurs(s))) },
    { name: 'cborBoth', perCall: n, fn: () => mix.forEach((s) => cbor.decode(cbor.encode(s.message))) },
  ]);
  const [oursEnc, cborEnc, oursDec, cborDec, oursBoth, cborBoth] = ['oursEnc', 'cborEnc', 'oursDec', 'cborDec', 'oursBoth', 'cborBoth'].map(
    (k) => codecFigures.get(k)!,
  ) as [Figure, Figure, Figure, Figure, Figure, Figure];
  process.stdout.write('\nencode + decode of the mix (median of 7 interleaved runs, msgs per CPU-second, one thread)\n');
  process.stdout.write(`  ours    encode         ${show(oursEnc)}\n`);
  process.stdout.write(`  cbor-x  encode         ${show(cborEnc)}\n`);
  process.stdout.write(`  ours    decode         ${show(oursDec)}\n`);
  process.stdout.write(`  cbor-x  decode         ${show(cborDec)}\n`);
  process.stdout.write(`  ours    encode+decode  ${show(oursBoth)}\n`);
  process.stdout.write(`  cbor-x  encode+decode  ${show(cborBoth)}\n`);
  const ratio = oursBoth.median / cborBoth.median;
  process.stdout.write(
    `  ratio ours / cbor-x (encode+decode): ${ratio.toFixed(2)}  (encode ${(oursEnc.median / cborEnc.median).toFixed(2)}, decode ${(oursDec.median / cborDec.median).toFixed(2)})  target >= 1.0: ${ratio >= 1 ? 'met' : 'NOT met'}\n`,
  );

  // --- Forwarding fast path ---------------------------------------------------------------
  const request = ours[0]!; // the Ping request: via list of 2, destination list of 1
  const answerSample = mix[2]!; // the Fetch answer: destination list [X, alice]
  const answer = ours[2]!;
  const previousHop: Destination = { type: 'node', id: new SeededRandom('hop').bytes(16) };
  const viaEntry = encodeViaEntry(previousHop);
  const rewrite = { appendVia: viaEntry };

  const throughCodec = (bytes: Uint8Array): Uint8Array => {
    const h = decodeForwardingHeader(bytes);
    const oldSize = forwardingHeaderSize(h);
    h.viaList.push(previousHop);
    h.ttl -= 1;
    const newSize = forwardingHeaderSize(h);
    h.length = bytes.length - oldSize + newSize;
    const w = new Writer(new Uint8Array(h.length));
    forwardingHeader.encode(w, h);
    w.buf.set(bytes.subarray(oldSize), newSize);
    return w.buf;
  };
  // Both paths must produce the same bytes.
  if (Buffer.compare(throughCodec(request), forwardRequest(request, viaEntry)) !== 0) {
    throw new Error('forward.ts and the codec path disagree');
  }
  if (answerSample.message.header.destinationList.length !== 2) throw new Error('unexpected answer sample');

  // The byte path first and on its own: the codec path leaves much more garbage (a fresh
  // backing store per message) whose collection would otherwise be billed to the next run.
  const fwd = measureAll([
    { name: 'request', perCall: 1, fn: () => forwardRequest(request, viaEntry) },
    { name: 'response', perCall: 1, fn: () => forwardResponse(answer) },
    { name: 'header', perCall: 1, fn: () => rewriteHeader(request, request.length, rewrite) },
  ]);
  for (const [k, v] of measureAll([{ name: 'codec', perCall: 1, fn: () => throughCodec(request) }])) fwd.set(k, v);
  const codecPath = fwd.get('codec')!;
  const bytePath = fwd.get('request')!;
  const responsePath = fwd.get('response')!;
  process.stdout.write(`\nforwarding fast path (${request.length}-byte Ping request; header only, body untouched)\n`);
  process.stdout.write(`  codec objects: decodeForwardingHeader + push via + TTL-1 + encode  ${show(codecPath)}\n`);
  process.stdout.write(`  forward.ts forwardRequest (bytes, one allocation)                 ${show(bytePath)}\n`);
  process.stdout.write(`  forward.ts forwardResponse (${answer.length}-byte Fetch answer, pop own dest)  ${show(responsePath)}\n`);
  process.stdout.write(`  forward.ts rewriteHeader (new header only; body sent as the tail)   ${show(fwd.get('header')!)}\n`);
  const verdict = (f: Figure): string => (f.median >= 1e6 ? 'met' : 'NOT met');
  process.stdout.write(
    `  target >= 1,000,000 msgs/s: forwardRequest ${verdict(bytePath)}, rewriteHeader (the router's path) ${verdict(fwd.get('header')!)}` +
      ' (forwardRequest copies the whole message; its GC cost varies with machine load)\n',
  );
}

