/**
 * Dialogs a front end carried, for user agents that ignore the route set.
 *
 * A UA must send in-dialog requests to the remote target (the 2xx's Contact) along the route
 * set (the Record-Route, RFC 3261 §12.1.2, §12.2.1.1). Some do not: stock `sipp -sn uac` sends
 * its ACK and BYE to the initial Request-URI (`sip:SERVICE@HOST:PORT`) with no Route. Such a
 * request reaches the front end the UA talks to, with the dialog's tags but nothing to route
 * it by; the initial Request-URI may name something (a conference URI) that many servers
 * answer for, so routing it afresh would reach the wrong one or none (404).
 *
 * So the front end remembers the dialogs created by the initial requests it proxied for its
 * UAs (Call-ID, From tag, To tag of the 2xx → remote target and the route set beyond this
 * proxy) and, for an in-dialog request from that UA arriving with no Route, does what the
 * UA should have done: Request-URI = remote target, Route = the rest of the route set. It is
 * the caller→callee direction only (the key is From tag, To tag as the caller sends them).
 *
 * Decision (no RFC covers proxies repairing UA routing): an entry lives while the dialog is
 * used — it expires after an idle time on the Clock (refreshed by every request of the dialog
 * that passes), and is removed when a BYE of the dialog gets its final response, or an
 * in-dialog request gets 481 or 408 (RFC 3261 §12.2.1.2: the dialog is gone).
 */
import type { Clock, TimerHandle } from '../../src/common/clock.js';
import { type SipRequest, type SipResponse, type Uri, formatNameAddr } from './stack/index.js';

/** How long a remembered dialog lives without any request of it passing, s. */
export const DEFAULT_DIALOG_IDLE_S = 2 * 3600;
/** At most this many remembered dialogs; the oldest goes first. */
export const MAX_REMEMBERED_DIALOGS = 10_000;

interface RememberedDialog {
  remoteTarget: Uri;
  /** Route values after this proxy's own Record-Route entries. */
  routeSet: string[];
  timer: TimerHandle;
}

export class DialogMemory {
  private readonly dialogs = new Map<string, RememberedDialog>();

  constructor(
    private readonly clock: Clock,
    private readonly idleMs: number,
  ) {}

  get size(): number {
    return this.dialogs.size;
  }

  /**
   * Remembers the dialog a 2xx to an initial request creates (the request as this proxy
   * received it, the 2xx as it came back). `isOwn` tells this proxy's Record-Route URIs.
   */
  remember(req: SipRequest, res: SipResponse, isOwn: (uri: Uri) => boolean): void {
    const key = keyOf(req.callId(), res.fromTag(), res.toTag());
    const contact = res.contacts()[0];
    if (key === undefined || contact === undefined || contact === '*') return;
    const rr = res.recordRoutes();
    // Record-Route lists the proxies nearest the caller first: what follows our own entries is downstream.
    let last = -1;
    rr.forEach((r, i) => {
      if (isOwn(r.uri)) last = i;
    });
    const routeSet = rr.slice(last + 1).map((r) => formatNameAddr(r));
    const old = this.dialogs.get(key);
    old?.timer.cancel();
    this.dialogs.delete(key);
    if (this.dialogs.size >= MAX_REMEMBERED_DIALOGS) {
      const [oldest] = this.dialogs.keys();
      if (oldest !== undefined) this.forgetKey(oldest);
    }
    this.dialogs.set(key, { remoteTarget: contact.uri, routeSet, timer: this.arm(key) });
  }

  /**
   * An in-dialog request from the caller of a remembered dialog, with no Route: sets its
   * Request-URI to the remote target and its Route to the rest of the route set. Returns
   * whether it did. Any request of a remembered dialog refreshes its idle time.
   */
  steer(req: SipRequest): boolean {
    const key = keyOf(req.callId(), req.fromTag(), req.toTag());
    const d = key === undefined ? undefined : this.dialogs.get(key);
    if (!d || key === undefined) return false;
    d.timer.cancel();
    d.timer = this.arm(key);
    if (req.has('Route')) return false;
    req.uri = d.remoteTarget;
    for (const r of d.routeSet) req.append('Route', r);
    return true;
  }

  /** A final response to an in-dialog request: a BYE ends the dialog, so do 481 and 408 (RFC 3261 §12.2.1.2, §15.1.1). */
  finalFor(req: SipRequest, status: number): void {
    if (req.method !== 'BYE' && status !== 481 && status !== 408) return;
    const key = keyOf(req.callId(), req.fromTag(), req.toTag());
    if (key !== undefined) this.forgetKey(key);
  }

  clear(): void {
    for (const d of this.dialogs.values()) d.timer.cancel();
    this.dialogs.clear();
  }

  private arm(key: string): TimerHandle {
    return this.clock.setTimeout(() => this.dialogs.delete(key), this.idleMs);
  }

  private forgetKey(key: string): void {
    this.dialogs.get(key)?.timer.cancel();
    this.dialogs.delete(key);
  }
}

function keyOf(callId: string, fromTag: string | undefined, toTag: string | undefined): string | undefined {
  return fromTag === undefined || toTag === undefined ? undefined : `${callId}\u0000${fromTag}\u0000${toTag}`;
}
