/**
 * The per-hop reliability machinery of RFC 6940 §6.6.3 shared by the transports:
 *
 * - {@link RttEstimator}: SRTT / RTTVAR / RTO of RFC 6298 from framing-ack samples;
 * - {@link ReceiveWindow}: the last 32 sequence numbers received, for the ack bitmap;
 * - {@link StopAndWaitSender}: the Simple Reliability sender (RFC 6940 §6.6.3.2) — at
 *   most one unacknowledged message, retransmission after the RTO with doubling and a new
 *   sequence number each time, five transmissions in total, the failure hint, and a 10 ms
 *   pause after each ack. UDP and the in-memory link run it; TLS/TCP only use the first two.
 * - {@link StreamSender}: the framed-header rules of a TLS/TCP link for a link without a
 *   socket (the in-memory link's stream mode): pipelined, acks as RTT samples and failure
 *   detection only.
 *
 * Everything is driven by the injected Clock (monotonic time, timers).
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import { receivedBitmap } from '../wire/framing.js';
import type { MutableLinkStats } from './common.js';
import {
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_RTO_MS,
  DEFAULT_MIN_RTO_MS,
  RECEIVED_WINDOW,
  SR_ACK_GAP_MS,
  SR_FAILURE_HINT_TRANSMISSION,
  SR_INITIAL_RTO_MS,
  SR_MAX_TRANSMISSIONS,
  STREAM_FAILURE_FLOOR_MS,
  STREAM_FAILURE_HOLD_MS,
} from './constants.js';
import { type LinkAddress, LinkError, type LinkHint } from './types.js';

/** RTO bounds shared by every transport's options. */
export interface RtoOptions {
  /** RTO before the first RTT sample, ms. @default SR_INITIAL_RTO_MS (500) */
  initialRtoMs?: number;
  /** Floor of the computed RTO, ms. @default DEFAULT_MIN_RTO_MS (200) */
  minRtoMs?: number;
  /** Ceiling of the computed and backed-off RTO, ms. @default DEFAULT_MAX_RTO_MS (60 000) */
  maxRtoMs?: number;
}

/** Clock granularity G of RFC 6298 §2 (the clock counts milliseconds). */
const CLOCK_GRANULARITY_MS = 1;
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/** RFC 6298 §2: the retransmission timer from RTT samples, rounded up to 1 ms (RFC 6940 §6.6.3.2). */
export class RttEstimator {
  private smoothed: number | undefined;
  private variation: number | undefined;
  private current: number;
  private readonly minRto: number;
  private readonly maxRto: number;
  /** Samples taken so far. */
  samples = 0;

  constructor(options: RtoOptions = {}) {
    this.minRto = options.minRtoMs ?? DEFAULT_MIN_RTO_MS;
    this.maxRto = options.maxRtoMs ?? DEFAULT_MAX_RTO_MS;
    if (!(this.minRto > 0) || !(this.maxRto >= this.minRto)) {
      throw new RangeError(`bad RTO bounds: min ${this.minRto} ms, max ${this.maxRto} ms`);
    }
    this.current = this.clamp(options.initialRtoMs ?? SR_INITIAL_RTO_MS);
  }

  /** SRTT, ms; undefined before the first sample. */
  get srtt(): number | undefined {
    return this.smoothed;
  }

  /** RTTVAR, ms; undefined before the first sample. */
  get rttvar(): number | undefined {
    return this.variation;
  }

  /** The current RTO, ms. */
  get rto(): number {
    return this.current;
  }

  /** Takes one RTT measurement (RFC 6298 §2.2, §2.3). */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.smoothed === undefined || this.variation === undefined) {
      this.smoothed = r;
      this.variation = r / 2;
    } else {
      this.variation = (1 - BETA) * this.variation + BETA * Math.abs(this.smoothed - r);
      this.smoothed = (1 - ALPHA) * this.smoothed + ALPHA * r;
    }
    this.samples += 1;
    this.current = this.clamp(Math.ceil(this.smoothed + Math.max(CLOCK_GRANULARITY_MS, K * this.variation)));
  }

  /** The timer expired: RTO <- 2 * RTO, up to the ceiling (RFC 6298 §5.5). */
  backoff(): void {
    this.current = this.clamp(this.current * 2);
  }

  private clamp(ms: number): number {
    return Math.min(this.maxRto, Math.max(this.minRto, ms));
  }
}

/**
 * The receiver's memory of the last 32 sequence numbers (RFC 6940 §6.6.3.2), giving the
 * `received` bitmap of each ack (bit order as in src/wire/framing.ts receivedBitmap).
 */
export class ReceiveWindow {
  private readonly seen = new Set<number>();
  private readonly ring: number[] = [];
  private at = 0;

  /**
   * Records data frame `sequence`. Returns the bitmap for its ack (the frames received
   * before it) and whether this sequence number had already been received.
   */
  record(sequence: number): { received: number; duplicate: boolean } {
    const received = receivedBitmap(sequence, (m) => this.seen.has(m));
    const duplicate = this.seen.has(sequence);
    if (!duplicate) {
      if (this.ring.length < RECEIVED_WINDOW) {
        this.ring.push(sequence);
      } else {
        this.seen.delete(this.ring[this.at]!);
        this.ring[this.at] = sequence;
        this.at = (this.at + 1) % RECEIVED_WINDOW;
      }
      this.seen.add(sequence);
    }
    return { received, duplicate };
  }
}

/** Options of the Simple Reliability sender. */
export interface StopAndWaitOptions {
  clock: Clock;
  rtt: RttEstimator;
  stats: MutableLinkStats;
  remote: LinkAddress;
  /** @default SR_MAX_TRANSMISSIONS (5) */
  maxTransmissions?: number;
  /** @default SR_ACK_GAP_MS (10) */
  ackGapMs?: number;
  /** @default DEFAULT_MAX_QUEUE (1024) */
  maxQueue?: number;
  /**
   * Puts one data frame on the link (fire and forget; losses show up as missing acks);
   * `tail`, when given, follows `message` in the frame (see Connection.send).
   */
  transmit(sequence: number, message: Uint8Array, tail: Uint8Array | undefined, retransmission: boolean): void;
  /** The failure hint (RFC 6940 §6.6.3.2). */
  hint(hint: LinkHint): void;
  /** The last transmission of a message went unacked: the owner must close the connection. */
  giveUp(error: LinkError): void;
}

interface PendingSend {
  message: Uint8Array;
  tail: Uint8Array | undefined;
  resolve: () => void;
  reject: (error: LinkError) => void;
  transmissions: number;
  /**
   * Sequence number of the first transmission. Stop-and-wait sends nothing else meanwhile,
   * so the transmissions carry firstSequence, firstSequence + 1, ... (mod 2^32).
   */
  firstSequence: number;
}

/** Transmissions remembered for RTT samples from late acks (acks of earlier transmissions). */
const SENT_MEMORY = 64;

/**
 * The Simple Reliability sender of RFC 6940 §6.6.3.2 (stop-and-wait). Transmissions of a
 * message at t = 0, RTO, 3·RTO, 7·RTO, 15·RTO (RTO doubling, RFC 6298 §5.5), each with a new
 * sequence number; the message fails at 31·RTO (the fifth transmission's timer), and the
 * owner closes the connection. Every ack — of a first transmission or a retransmission,
 * on time or late — is an RTT sample: the sequence number names the transmission exactly,
 * so Karn's ambiguity does not arise.
 */
export class StopAndWaitSender {
  private nextSequence = 0;
  private queue: (PendingSend | undefined)[] = [];
  private head = 0;
  private current: PendingSend | undefined;
  /**
   * The retransmission timer is lazy: it is not cancelled when an ack arrives, only
   * re-armed when it fires early for the message then in flight (`deadline`). A busy link
   * thus creates about one timer per RTO rather than one per message, which keeps the
   * simulator's timer heap small.
   */
  private timer: TimerHandle | undefined;
  private timerDue = 0;
  private deadline = 0;
  private gapTimer: TimerHandle | undefined;
  private lastAckAt = Number.NEGATIVE_INFINITY;
  private readonly sentAt = new Map<number, number>();
  private suspected = false;
  private failure: LinkError | undefined;
  private readonly maxTransmissions: number;
  private readonly ackGapMs: number;
  private readonly maxQueue: number;

  constructor(private readonly o: StopAndWaitOptions) {
    this.maxTransmissions = o.maxTransmissions ?? SR_MAX_TRANSMISSIONS;
    this.ackGapMs = o.ackGapMs ?? SR_ACK_GAP_MS;
    this.maxQueue = o.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (!(this.maxTransmissions >= 1)) throw new RangeError('maxTransmissions must be at least 1');
  }

  /** Messages not yet acknowledged (in flight plus queued). */
  get outstanding(): number {
    return this.queue.length - this.head + (this.current ? 1 : 0);
  }

  /** Whether the failure hint is currently raised. */
  get suspect(): boolean {
    return this.suspected;
  }

  send(message: Uint8Array, tail?: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.queue.length - this.head >= this.maxQueue) {
      return Promise.reject(
        new LinkError(`${this.maxQueue} messages already wait for this link`, { reason: 'queue-full', remote: this.o.remote }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ message, tail, resolve, reject, transmissions: 0, firstSequence: 0 });
      this.pump();
    });
  }

  /** An ack frame arrived. */
  onAck(ackSequence: number, _atMs?: number): void {
    if (this.failure) return;
    const now = this.o.clock.monotonic();
    const sent = this.sentAt.get(ackSequence);
    if (sent === undefined) return; // not a transmission of ours we still remember
    this.sentAt.delete(ackSequence);
    this.o.rtt.sample(now - sent);
    if (this.suspected) {
      // "it may be restored if ACKs resume" (RFC 6940 §6.6.3.2)
      this.suspected = false;
      this.o.hint('restored');
    }
    const p = this.current;
    if (p && ((ackSequence - p.firstSequence) >>> 0) < p.transmissions) {
      this.current = undefined;
      this.lastAckAt = now;
      this.o.stats.messagesSent += 1;
      p.resolve();
      this.pump();
    }
  }

  /** Rejects everything in flight or queued, cancels the timers; later sends reject with `error`. */
  fail(error: LinkError): void {
    if (this.failure) return;
    this.failure = error;
    this.timer?.cancel();
    this.gapTimer?.cancel();
    this.timer = this.gapTimer = undefined;
    const pending = [this.current, ...this.queue.slice(this.head)];
    this.current = undefined;
    this.queue = [];
    this.head = 0;
    for (const p of pending) p?.reject(error);
  }

  private pump(): void {
    if (this.current || this.gapTimer || this.failure || this.head >= this.queue.length) return;
    // "wait 10 ms after receiving an ACK before sending the next message" (RFC 6940 §6.6.3.2)
    const wait = this.lastAckAt + this.ackGapMs - this.o.clock.monotonic();
    if (wait > 0) {
      this.gapTimer = this.o.clock.setTimeout(() => {
        this.gapTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.current = this.queue[this.head];
    this.queue[this.head] = undefined;
    this.head += 1;
    if (this.head >= 256 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.transmitCurrent();
  }

  private transmitCurrent(): void {
    const p = this.current!;
    const sequence = this.nextSequence;
    this.nextSequence = (sequence + 1) >>> 0;
    if (p.transmissions === 0) p.firstSequence = sequence;
    p.transmissions += 1;
    this.sentAt.set(sequence, this.o.clock.monotonic());
    if (this.sentAt.size > SENT_MEMORY) this.sentAt.delete(this.sentAt.keys().next().value!);
    const retransmission = p.transmissions > 1;
    this.o.stats.dataFramesSent += 1;
    if (retransmission) this.o.stats.retransmissions += 1;
    const now = this.o.clock.monotonic();
    this.deadline = now + this.o.rtt.rto;
    if (!this.timer || this.deadline < this.timerDue) {
      this.timer?.cancel();
      this.timerDue = this.deadline;
      this.timer = this.o.clock.setTimeout(() => this.onTimer(), this.o.rtt.rto);
    }
    if (p.transmissions === SR_FAILURE_HINT_TRANSMISSION && !this.suspected) {
      // No ack for a whole RTO, then three more retransmissions without any ack.
      this.suspected = true;
      this.o.hint('suspect');
      if (this.current !== p) return; // the hint handler closed the link
    }
    this.o.transmit(sequence, p.message, p.tail, retransmission);
  }

  private onTimer(): void {
    this.timer = undefined;
    const p = this.current;
    if (!p || this.failure) return;
    const early = this.deadline - this.o.clock.monotonic();
    if (early > 0) {
      // Armed for an earlier message: wait for this one's own RTO.
      this.timerDue = this.deadline;
      this.timer = this.o.clock.setTimeout(() => this.onTimer(), early);
      return;
    }
    this.o.rtt.backoff();
    if (p.transmissions >= this.maxTransmissions) {
      this.current = undefined;
      const error = new LinkError(`no ack after ${p.transmissions} transmissions`, { reason: 'timeout', remote: this.o.remote });
      p.reject(error);
      this.o.giveUp(error);
      return;
    }
    this.transmitCurrent();
  }
}

/** Options of the stream-link sender. */
export interface StreamSenderOptions {
  clock: Clock;
  rtt: RttEstimator;
  stats: MutableLinkStats;
  remote: LinkAddress;
  /** A frame unacked for max(RTO, this) raises the 'suspect' hint, ms. @default STREAM_FAILURE_FLOOR_MS */
  failureFloorMs?: number;
  /** Unacknowledged traffic this old gives the link up, ms. @default STREAM_FAILURE_HOLD_MS */
  failureHoldMs?: number;
  /** Puts one data frame on the link (delivery is ordered and reliable, as over TCP); `tail` follows `message`. */
  transmit(sequence: number, message: Uint8Array, tail: Uint8Array | undefined): void;
  hint(hint: LinkHint): void;
  giveUp(error: LinkError): void;
  /**
   * Processes acks that have arrived but not been handed over yet (the memory link delivers
   * stream-mode acks lazily); called before any state is read or changed.
   */
  drainAcks?(): void;
}

/**
 * The sender of a TLS/TCP link with the framed header (RFC 6940 §6.6.3.2, FH): messages go
 * out at once, pipelined, and TCP keeps them in order; framing acks only give RTT samples,
 * and the RTO is a failure threshold, not a retransmission timer — a frame unacked for
 * max(RTO, floor) raises 'suspect', and unacknowledged traffic `failureHoldMs` old gives the
 * link up. The same rules as src/link/stream.ts, for links without a socket (the memory link
 * in its stream mode). One failure timer per link at most.
 */
export class StreamSender {
  private nextSequence = 0;
  /**
   * Send times of the frames not yet acked, oldest first: a FIFO, as sequences are
   * consecutive and an ack covers every earlier frame (cheaper than a Map per link).
   */
  private sentAt: number[] = [];
  /** Index in `sentAt` of the oldest unacked frame, whose sequence is `firstUnacked`. */
  private head = 0;
  private firstUnacked = 0;
  private timer: TimerHandle | undefined;
  private suspected = false;
  private failure: LinkError | undefined;
  private readonly floorMs: number;
  private readonly holdMs: number;

  constructor(private readonly o: StreamSenderOptions) {
    this.floorMs = o.failureFloorMs ?? STREAM_FAILURE_FLOOR_MS;
    this.holdMs = o.failureHoldMs ?? STREAM_FAILURE_HOLD_MS;
  }

  /** Frames sent and not yet acknowledged. */
  get outstanding(): number {
    this.o.drainAcks?.();
    return this.sentAt.length - this.head;
  }

  get suspect(): boolean {
    this.o.drainAcks?.();
    return this.suspected;
  }

  /** Resolves once the frame is handed to the link (TCP write semantics). */
  send(message: Uint8Array, tail?: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.o.drainAcks?.();
    const sequence = this.nextSequence;
    this.nextSequence = (sequence + 1) >>> 0;
    if (this.head === this.sentAt.length) {
      this.clearUnacked();
      this.firstUnacked = sequence;
    }
    this.sentAt.push(this.o.clock.monotonic());
    this.o.stats.dataFramesSent += 1;
    this.o.stats.messagesSent += 1;
    this.arm();
    this.o.transmit(sequence, message, tail);
    return Promise.resolve();
  }

  /** The ack for `ackSequence` arrived (at `atMs` on the clock, default now). */
  onAck(ackSequence: number, atMs?: number): void {
    if (this.failure) return;
    // Sequences are consecutive from firstUnacked: an ack for one not unacked is ignored.
    const index = (ackSequence - this.firstUnacked) >>> 0;
    if (index >= this.sentAt.length - this.head) return;
    this.o.rtt.sample((atMs ?? this.o.clock.monotonic()) - this.sentAt[this.head + index]!);
    // Ordered delivery: an ack for `ackSequence` covers every earlier frame.
    this.head += index + 1;
    this.firstUnacked = (ackSequence + 1) >>> 0;
    if (this.head === this.sentAt.length) this.clearUnacked();
    else if (this.head >= 1024 && 2 * this.head >= this.sentAt.length) {
      this.sentAt = this.sentAt.slice(this.head);
      this.head = 0;
    }
    if (this.suspected) {
      this.suspected = false;
      this.o.hint('restored');
      // The armed check was for the hold time; the next unacked frame is due sooner.
      this.timer?.cancel();
      this.timer = undefined;
      this.arm();
    }
    // Otherwise the armed check stays: it is due no later than the oldest frame still
    // unacked needs, and re-arms itself from that frame when it fires (one timer per
    // threshold period per link instead of one per ack).
  }

  fail(error: LinkError): void {
    if (this.failure) return;
    this.failure = error;
    this.timer?.cancel();
    this.timer = undefined;
    this.clearUnacked();
  }

  private clearUnacked(): void {
    this.sentAt.length = 0;
    this.head = 0;
  }

  private arm(): void {
    if (this.timer || this.failure) return;
    if (this.head === this.sentAt.length) return;
    const threshold = this.suspected ? this.holdMs : Math.max(this.o.rtt.rto, this.floorMs);
    const due = this.sentAt[this.head]! + threshold - this.o.clock.monotonic();
    this.timer = this.o.clock.setTimeout(() => this.check(), Math.max(0, due));
  }

  private check(): void {
    this.timer = undefined;
    if (this.failure) return;
    this.o.drainAcks?.();
    if (this.head === this.sentAt.length) return;
    const age = this.o.clock.monotonic() - this.sentAt[this.head]!;
    if (age >= this.holdMs) {
      const error = new LinkError(`link failed: no framing ack for ${Math.round(age)} ms`, { reason: 'timeout', remote: this.o.remote });
      this.fail(error);
      this.o.giveUp(error);
      return;
    }
    if (!this.suspected && age >= Math.max(this.o.rtt.rto, this.floorMs)) {
      this.suspected = true;
      this.o.hint('suspect');
      if (this.failure) return;
    }
    this.arm();
  }
}
