/**
 * The front end's location service: the contact bindings of the user agents registered
 * at this peer (RFC 3261 §10.3), each with its expiry on the injected clock. The overlay
 * holds one SIP-REGISTRATION entry per AOR pointing at this peer (RFC 7904 §3.2); the
 * bindings here say which UA to hand an incoming request to.
 */
import type { Clock, TimerHandle } from '../../src/common/clock.js';
import type { ReceiveInfo } from './stack/index.js';
import { type NameAddr, type SipUri, uriEquals } from './stack/index.js';

export interface ContactBinding {
  /** The AOR (`user@domain`, the domain in lower case). */
  readonly aor: string;
  /** The Contact as registered (URI and contact params, `expires` removed). */
  readonly contact: NameAddr & { uri: SipUri };
  /** When the binding lapses, clock.now() milliseconds. */
  readonly expiresAt: number;
  /** Call-ID and CSeq of the REGISTER that set it (RFC 3261 §10.3 step 7 ordering). */
  readonly callId: string;
  readonly cseq: number;
  /** Where the REGISTER came from (a TCP binding reuses its connection). */
  readonly received: ReceiveInfo | undefined;
}

interface Entry {
  binding: ContactBinding;
  timer: TimerHandle;
}

export class BindingTable {
  private readonly byAor = new Map<string, Entry[]>();

  constructor(
    private readonly clock: Clock,
    /** Called when the last binding of an AOR lapsed (not when it was removed by a REGISTER). */
    private readonly onLapsed?: (aor: string) => void,
  ) {}

  /** The live bindings of an AOR, most recent expiry last. */
  get(aor: string): ContactBinding[] {
    const now = this.clock.now();
    return (this.byAor.get(aor) ?? []).map((e) => e.binding).filter((b) => b.expiresAt > now);
  }

  /** The binding of an AOR for a contact URI (RFC 3261 §19.1.4 comparison). */
  find(aor: string, uri: SipUri): ContactBinding | undefined {
    return this.get(aor).find((b) => uriEquals(b.contact.uri, uri));
  }

  /** Every AOR with live bindings. */
  aors(): string[] {
    return [...this.byAor.keys()].filter((a) => this.get(a).length > 0);
  }

  /** Replaces the bindings of an AOR (an accepted REGISTER's result). */
  replace(aor: string, bindings: ContactBinding[]): void {
    for (const e of this.byAor.get(aor) ?? []) e.timer.cancel();
    if (bindings.length === 0) {
      this.byAor.delete(aor);
      return;
    }
    const now = this.clock.now();
    const entries: Entry[] = bindings.map((binding) => {
      const entry: Entry = {
        binding,
        timer: this.clock.setTimeout(() => this.lapse(aor, entry), Math.max(0, binding.expiresAt - now)),
      };
      return entry;
    });
    this.byAor.set(aor, entries);
  }

  private lapse(aor: string, entry: Entry): void {
    const list = this.byAor.get(aor);
    if (!list) return;
    const rest = list.filter((e) => e !== entry);
    if (rest.length > 0) {
      this.byAor.set(aor, rest);
      return;
    }
    this.byAor.delete(aor);
    this.onLapsed?.(aor);
  }

  /** Cancels every expiry timer. */
  clear(): void {
    for (const list of this.byAor.values()) for (const e of list) e.timer.cancel();
    this.byAor.clear();
  }
}
