/**
 * Credential-free landmark RTT probes (landmarks-and-extras.md §A.1 step 2), for a node that
 * has no certificate yet: `reload-node enroll` measures its bin before it asks the
 * enrollment server for a Node-ID. measure.ts times RELOAD Pings, which a node without a
 * certificate cannot sign (every peer verifies every message, RFC 6940 §13), so the round
 * trip is timed one layer down, on the link the landmark listens on (`Landmark.transport`
 * from the configuration, default tls):
 *
 * - tls / tcp: a TCP connect. SYN → SYN/ACK is one network round trip, answered by the
 *   landmark's kernel before any TLS or RELOAD byte is exchanged; the socket is closed at
 *   once. The landmark's TlsTransport sees a client that left before its ClientHello (the
 *   handshake deadline is cancelled on close, the refusal goes to `onError`, which
 *   ReloadNode does not install); a tcp listener sees a link come up and go down.
 * - udp: RFC 6940 §6.6.3 simple reliability. The receiver acks every data frame at once,
 *   before and independently of parsing the RELOAD message inside (src/link/udp.ts,
 *   UdpConnection.receive: `sendAck`, then `onMessage`), so one small data frame gives an
 *   ack after one round trip. Its payload, {@link PROBE_PAYLOAD}, is deliberately not a
 *   RELOAD message: its first four bytes fail the forwarding header's relo_token check, and
 *   the landmark's router drops it as "undecodable forwarding header" (a debug-level log
 *   line and the decodeErrors counter; no answer, no error response, nothing forwarded).
 *   That is exactly what any stray datagram gets, so the probe asks nothing of the landmark
 *   that the link does not already do for everyone; the ack (9 bytes) is smaller than the
 *   probe frame (8 + 26 bytes), so it cannot amplify. An empty payload would drop just as
 *   quietly; the ASCII text is chosen so a capture or a debug log says what it was.
 *   Cost on the landmark: one UDP association (and an unbound Connection Table entry) per
 *   probing socket, which plain UDP cannot close from this side (it has no closing
 *   handshake). It goes once the landmark sends on it: an idle-link Ping
 *   (src/node/liveness.ts) goes unacked to the closed probe socket and the association closes
 *   after five transmissions (RFC 6940 §6.6.3.2); until then it holds one table slot. The
 *   probe uses one socket per landmark for all its samples, so an enrollment leaves at most
 *   one such association per UDP landmark.
 *
 * The RTT of a landmark is the smallest of `samples` (default 3): queueing only ever adds
 * delay. A sample without an answer within `timeoutMs` is lost; a landmark none of whose
 * samples answered (refused, unreachable, timed out, name not resolved) gets Infinity, so
 * it sorts last at the highest level, as in measure.ts.
 *
 * Timing uses `clock.monotonic()`, the Clock's interval measure (as ReloadNode.ping does:
 * sub-millisecond, immune to wall-clock steps); every deadline is a timer of the injected
 * Clock. Landmarks are probed in parallel, each landmark's samples one after another, so the
 * worst case is `samples × timeoutMs` however many landmarks there are.
 */
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { type Clock, systemClock } from '../../src/common/clock.js';
import type { Landmark, LandmarkTransport } from '../../src/config/types.js';
import type { LinkAddress } from '../../src/link/types.js';
import { utf8 } from '../../src/wire/codec.js';
import { decodeFrame, encodeFrame } from '../../src/wire/framing.js';
import { DEFAULT_LEVEL_BOUNDARIES_MS, type LandmarkBin, binOf } from './binning.js';

/** Probes per landmark (the smallest RTT counts). */
export const DEFAULT_PROBE_SAMPLES = 3;
/** Most probes per landmark accepted. */
export const MAX_PROBE_SAMPLES = 20;
/**
 * Wait for one answer, ms. Two seconds is above any terrestrial RTT and above Linux's first
 * SYN retransmission (1 s), so one lost SYN still yields a (pessimistic) sample.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 2000;
/** The payload of a UDP probe's data frame: not a RELOAD message (see the module comment). */
export const PROBE_PAYLOAD: Uint8Array = utf8('reload-node landmark probe');

export type ProbeErrorReason = 'timeout' | 'unreachable' | 'unresolved' | 'aborted';

export class ProbeError extends Error {
  readonly code = 'ERR_RELOAD_LANDMARK_PROBE';
  constructor(
    readonly reason: ProbeErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

export interface ProbeOptions {
  /** Clock for timing and deadlines. @default systemClock */
  clock?: Clock;
  /** Probes per landmark. @default DEFAULT_PROBE_SAMPLES (3) */
  samples?: number;
  /** Wait for each answer (and for a name lookup), ms. @default DEFAULT_PROBE_TIMEOUT_MS (2000) */
  timeoutMs?: number;
  /** Stops the probing: pending samples end as lost. */
  signal?: AbortSignal;
}

export interface LandmarkProbe {
  /** Landmark number (configuration order). */
  landmark: number;
  /** The address as configured. */
  address: LinkAddress;
  transport: LandmarkTransport;
  /** Smallest RTT, ms; Infinity when no sample was answered. */
  rttMs: number;
  /** Every sample, ms, in order; Infinity for a lost one. Fewer than asked when the landmark refused. */
  samplesMs: number[];
  /** Why the landmark is unreachable (or the last sample failed). */
  error?: string;
}

function checkOptions(opts: ProbeOptions): { clock: Clock; samples: number; timeoutMs: number } {
  const samples = opts.samples ?? DEFAULT_PROBE_SAMPLES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  if (!Number.isInteger(samples) || samples < 1 || samples > MAX_PROBE_SAMPLES) {
    throw new RangeError(`samples must be 1..${MAX_PROBE_SAMPLES}, got ${samples}`);
  }
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  return { clock: opts.clock ?? systemClock, samples, timeoutMs };
}

function abortError(): ProbeError {
  return new ProbeError('aborted', 'probe aborted');
}

/** The address with its host resolved to an IP (the lookup is not part of any timing). */
export async function resolveLandmark(address: LinkAddress, opts: ProbeOptions = {}): Promise<LinkAddress> {
  if (net.isIP(address.host)) return address;
  const { clock, timeoutMs } = checkOptions(opts);
  let timer: { cancel(): void } | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new ProbeError('unresolved', `${address.host}: no address within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const found = await Promise.race([lookup(address.host), deadline]);
    return { host: found.address, port: address.port };
  } catch (err) {
    if (err instanceof ProbeError) throw err;
    throw new ProbeError('unresolved', `${address.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  } finally {
    timer?.cancel();
  }
}

/**
 * One TCP connect round trip to `address` (an IP), ms: from the connect call to the
 * established socket (SYN → SYN/ACK), then the socket is closed at once. Rejects with
 * ProbeError 'unreachable' (refused, no route...), 'timeout' or 'aborted'.
 */
export function tcpConnectRtt(address: LinkAddress, opts: ProbeOptions = {}): Promise<number> {
  const { clock, timeoutMs } = checkOptions(opts);
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(abortError());
  return new Promise((resolve, reject) => {
    const t0 = clock.monotonic();
    const socket = net.connect({ host: address.host, port: address.port });
    let settled = false;
    const finish = (err: ProbeError | undefined, rtt?: number): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(rtt!);
    };
    const timer = clock.setTimeout(() => finish(new ProbeError('timeout', `no SYN/ACK within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => finish(abortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(undefined, clock.monotonic() - t0));
    // Stays attached after destroy: a late error on a closed probe socket is nobody's concern.
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new ProbeError('unreachable', `TCP connect: ${err.code ?? err.message}`, { cause: err })));
  });
}

/**
 * Simple-reliability ack round trips to a UDP landmark at `address` (an IP): one connected
 * socket, `samples` data frames (sequence 0, 1, ...) sent one after another, each timed to
 * the ack carrying its sequence number; a frame unacked within `timeoutMs` counts as
 * Infinity. The socket is connected so that an ICMP port-unreachable ends the probe at once
 * (`error` 'unreachable', with the samples taken before it).
 */
export async function udpAckRtts(address: LinkAddress, opts: ProbeOptions = {}): Promise<{ samplesMs: number[]; error?: ProbeError }> {
  const { clock, samples, timeoutMs } = checkOptions(opts);
  const signal = opts.signal;
  if (signal?.aborted) return { samplesMs: [], error: abortError() };
  const socket = dgram.createSocket(net.isIP(address.host) === 6 ? 'udp6' : 'udp4');
  let waiting: { sequence: number; t0: number; done(err: ProbeError | undefined, rtt?: number): void } | undefined;
  let failure: ProbeError | undefined;
  const fail = (err: ProbeError): void => {
    failure ??= err;
    waiting?.done(err);
  };
  socket.on('error', (err: NodeJS.ErrnoException) => fail(new ProbeError('unreachable', `UDP: ${err.code ?? err.message}`, { cause: err })));
  socket.on('message', (msg: Buffer) => {
    const w = waiting;
    if (!w) return;
    let frame;
    try {
      frame = decodeFrame(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch {
      return; // not a FramedMessage: not our answer
    }
    // An ack of an earlier, timed-out sample is not this sample's answer.
    if (frame.type === 'ack' && frame.ackSequence === w.sequence) w.done(undefined, clock.monotonic() - w.t0);
  });
  const onAbort = (): void => fail(abortError());
  signal?.addEventListener('abort', onAbort, { once: true });
  const out: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(address.port, address.host, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new ProbeError('unreachable', `UDP connect: ${err.code ?? err.message}`, { cause: err });
    });
    for (let sequence = 0; sequence < samples; sequence++) {
      if (failure) break;
      const frame = encodeFrame({ type: 'data', sequence, message: PROBE_PAYLOAD });
      const rtt = await new Promise<number>((resolve) => {
        const timer = clock.setTimeout(() => done(undefined, Number.POSITIVE_INFINITY), timeoutMs);
        const done = (err: ProbeError | undefined, r?: number): void => {
          if (waiting?.sequence !== sequence) return;
          waiting = undefined;
          timer.cancel();
          resolve(err ? Number.NaN : r!);
        };
        waiting = { sequence, t0: clock.monotonic(), done };
        socket.send(frame, (err) => {
          if (err) fail(new ProbeError('unreachable', `UDP send: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
        });
      });
      if (Number.isNaN(rtt)) break;
      out.push(rtt);
    }
  } catch (err) {
    failure ??= err instanceof ProbeError ? err : new ProbeError('unreachable', (err as Error).message, { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    waiting = undefined;
    socket.close();
  }
  return failure ? { samplesMs: out, error: failure } : { samplesMs: out };
}

/** Probes one landmark (see the module comment); never rejects. */
export async function probeLandmark(lm: Landmark, landmark: number, opts: ProbeOptions = {}): Promise<LandmarkProbe> {
  const { samples } = checkOptions(opts);
  const transport = lm.transport ?? 'tls';
  const address = { host: lm.address, port: lm.port };
  const result = (samplesMs: number[], error?: string): LandmarkProbe => ({
    landmark,
    address,
    transport,
    rttMs: samplesMs.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
    samplesMs,
    ...(error !== undefined ? { error } : {}),
  });
  let target: LinkAddress;
  try {
    target = await resolveLandmark(address, opts);
  } catch (err) {
    return result([], (err as Error).message);
  }
  if (transport === 'udp') {
    const { samplesMs, error } = await udpAckRtts(target, opts);
    if (error) return result(samplesMs, error.message);
    return result(samplesMs, samplesMs.every((x) => x === Number.POSITIVE_INFINITY) ? `no ack within ${opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS} ms` : undefined);
  }
  // tls and tcp listen on TCP: time the connect.
  const out: number[] = [];
  let error: string | undefined;
  for (let i = 0; i < samples; i++) {
    try {
      out.push(await tcpConnectRtt(target, opts));
      error = undefined;
    } catch (err) {
      error = (err as Error).message;
      // A refusal will not change within a second; a timeout may be one lost SYN.
      if ((err as ProbeError).reason !== 'timeout') break;
      out.push(Number.POSITIVE_INFINITY);
    }
  }
  return result(out, error);
}

/** RTTs to every landmark, in configuration order (probed in parallel). */
export function probeLandmarks(landmarks: readonly Landmark[], opts: ProbeOptions = {}): Promise<LandmarkProbe[]> {
  checkOptions(opts);
  return Promise.all(landmarks.map((lm, i) => probeLandmark(lm, i, opts)));
}

/**
 * Probes and bins in one step. `bin` is undefined when no landmark answered at all: an
 * all-Infinity bin says nothing about where the node is, and would put every such node on
 * the same arc of the ring.
 */
export async function probeBin(
  landmarks: readonly Landmark[],
  opts: ProbeOptions & { levelBoundariesMs?: readonly number[] } = {},
): Promise<{ bin: LandmarkBin | undefined; probes: LandmarkProbe[] }> {
  const probes = await probeLandmarks(landmarks, opts);
  const reachable = probes.some((p) => Number.isFinite(p.rttMs));
  return { bin: reachable ? binOf(probes.map((p) => p.rttMs), opts.levelBoundariesMs ?? DEFAULT_LEVEL_BOUNDARIES_MS) : undefined, probes };
}
