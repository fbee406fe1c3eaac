/**
 * End-to-end transactions (RFC 6940 §6.2.1): each originated request waits for its answer
 * under a reliability timer and is retransmitted with the same transaction_id, at most
 * `maxTransmissions` times in total; then it fails with Error_Request_Timeout. Incoming
 * requests are remembered for the 15 s request lifetime so a retransmission gets the same
 * answer instead of being processed twice.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import { ReloadError } from '../common/errors.js';
import type { MessageExtension } from '../wire/message.js';

export interface Answer {
  code: number;
  body: Uint8Array;
  /** Verified signer Node-ID of the answer. */
  from: Uint8Array;
  /** Certificates the answer carried (needed to check fetched values' signatures). */
  certificates: Uint8Array[];
  /**
   * Overlay links the answer crossed (0: answered by this node itself). With symmetric
   * recursive routing the request took the same path, so this is the request's hop count.
   */
  hops: number;
  /** The answer's message extensions (e.g. RFC 7851 Diagnostic_Ping in a PingAns). */
  extensions?: MessageExtension[];
}

interface Pending {
  resolve(a: Answer): void;
  reject(e: Error): void;
  timer: TimerHandle | undefined;
  transmissions: number;
  retransmit: () => void;
  /** Checks an answer's origin (and code) before it is accepted (RFC 6940 §6.2.1 response checks). */
  accept: (from: Uint8Array, code: number) => boolean;
  description: string;
}

export class TransactionTable {
  private readonly pending = new Map<bigint, Pending>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly maxTransmissions: number,
  ) {}

  /**
   * Starts a transaction: calls `transmit` now and on every timer expiry until an answer
   * arrives or the budget is spent.
   */
  start(
    transactionId: bigint,
    transmit: () => void,
    accept: (from: Uint8Array, code: number) => boolean,
    description: string,
    signal?: AbortSignal,
  ): Promise<Answer> {
    if (this.pending.has(transactionId)) throw new Error('duplicate transaction id');
    return new Promise<Answer>((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        timer: undefined,
        transmissions: 0,
        retransmit: () => {
          if (p.transmissions >= this.maxTransmissions) {
            this.pending.delete(transactionId);
            reject(ReloadError.requestTimeout(`no answer to ${description} after ${p.transmissions} transmissions`));
            return;
          }
          p.transmissions++;
          p.timer = this.clock.setTimeout(p.retransmit, this.intervalMs);
          transmit();
        },
        accept,
        description,
      };
      this.pending.set(transactionId, p);
      if (signal) {
        if (signal.aborted) {
          this.fail(transactionId, signal.reason ?? new Error('aborted'));
          return;
        }
        signal.addEventListener('abort', () => this.fail(transactionId, signal.reason ?? new Error('aborted')), {
          once: true,
        });
      }
      p.retransmit();
    });
  }

  has(transactionId: bigint): boolean {
    return this.pending.has(transactionId);
  }

  /** Delivers an answer; returns false if no transaction waits for it (late or foreign). */
  complete(transactionId: bigint, answer: Answer): boolean {
    const p = this.pending.get(transactionId);
    if (!p) return false;
    if (!p.accept(answer.from, answer.code)) return false;
    p.timer?.cancel();
    this.pending.delete(transactionId);
    p.resolve(answer);
    return true;
  }

  fail(transactionId: bigint, err: Error): void {
    const p = this.pending.get(transactionId);
    if (!p) return;
    p.timer?.cancel();
    this.pending.delete(transactionId);
    p.reject(err);
  }

  /** Fails every pending transaction (node stopping). */
  failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }

  get size(): number {
    return this.pending.size;
  }
}

interface CachedAnswer {
  expires: number;
  /** The encoded answer, or undefined while the request is still being processed. */
  answer: Uint8Array | undefined;
}

/**
 * Remembers requests seen in the last DUPLICATE_WINDOW_MS (RFC 6940 §6.2.1: answers to a
 * retransmission must be semantically equivalent; a Store must not be applied twice).
 * Keyed by transaction id and signer.
 */
export class DuplicateCache {
  private readonly entries = new Map<string, CachedAnswer>();
  /** Sweeps while entries remain, so a node that goes quiet does not keep its answers. */
  private sweepTimer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** 'new' the first time; 'processing' while the first copy is handled; else the answer. */
  check(key: string): 'new' | 'processing' | Uint8Array {
    const now = this.clock.monotonic();
    const e = this.entries.get(key);
    if (!e || e.expires < now) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { expires: now + this.windowMs, answer: undefined });
      this.sweepTimer ??= this.clock.setTimeout(() => this.sweepLater(), this.windowMs + 1);
      return 'new';
    }
    return e.answer ?? 'processing';
  }

  remember(key: string, answer: Uint8Array): void {
    const e = this.entries.get(key);
    // Not copied: the router builds answers in a buffer of their own (not a slab slice,
    // src/wire/slab.ts), since they are kept for the window.
    if (e) e.answer = answer;
  }

  /** Cancels the sweep timer (node stop); the cache stays usable. */
  stop(): void {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweepLater(): void {
    this.sweepTimer = undefined;
    const now = this.clock.monotonic();
    for (const [k, e] of this.entries) if (e.expires < now) this.entries.delete(k);
    if (this.entries.size > 0) this.sweepTimer = this.clock.setTimeout(() => this.sweepLater(), this.windowMs + 1);
  }
}
