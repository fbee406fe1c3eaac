/**
 * The front end's registrar (RFC 3261 §10.3) for ordinary SIP user agents, publishing each
 * AOR's registration in the overlay (RFC 7904 §3).
 *
 * Only a certificate whose user name is the AOR may store that AOR's SIP-REGISTRATION
 * (USER-NODE-MATCH), so the front end registers an AOR only when it holds that user's
 * RELOAD identity: the peer's own, or one loaded for the purpose (`--sip-user DIR`). Any
 * other AOR gets 403 with a reason saying so. The stored entry is keyed by the user
 * certificate's Node-ID; its value is a `sip_registration_route` whose destination list
 * leads to this peer (RFC 7904 §3.2 lets key and value differ), so calls reach the peer
 * that holds the UA's contact binding.
 *
 * Lifetimes (RFC 7904 §3.1): the stored lifetime follows Expires (the longest binding of
 * the AOR at this peer); a refresh stores again; when the last binding is removed
 * (Expires: 0, `Contact: *`) the entry is overwritten with exists = false. Bindings that
 * simply lapse are not re-stored: the stored lifetime ends at the same time. REGISTERs of
 * one AOR are processed one at a time, so stores reach the overlay in order.
 *
 * No SIP digest authentication: the UAs of the front end's network are trusted with the
 * identities the peer holds (the peer owner's choice when loading them).
 */
import type { Clock } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/log.js';
import type { Credentials } from '../../src/security/credentials.js';
import type { ContactBinding, BindingTable } from './bindings.js';
import type { DomainPolicy } from './domain.js';
import {
  type NameAddr,
  type ServerTransaction,
  type SipRequest,
  type SipUri,
  formatNameAddr,
  getParam,
  uriEquals,
} from './stack/index.js';

/** An identity whose AOR this front end may register. */
export interface HeldIdentity {
  /** The certificate's user name: the AOR's Resource Name (`user@domain`). */
  aor: string;
  /** The certificate's Node-ID: the dictionary key of the stored entry. */
  nodeId: Uint8Array;
  /** Credentials to store with; undefined for the peer's own identity. */
  credentials?: Credentials;
}

/** Registration intervals, seconds. */
export const DEFAULT_EXPIRES_S = 3600;
export const DEFAULT_MAX_EXPIRES_S = 3600;
export const DEFAULT_MIN_EXPIRES_S = 1;

/** RFC 3840 feature tags that may appear as Contact parameters (copied into contact_prefs). */
const FEATURE_TAGS = new Set([
  'audio', 'video', 'text', 'data', 'control', 'application', 'automata', 'class', 'duplex', 'mobility',
  'description', 'events', 'priority', 'methods', 'schemes', 'extensions', 'isfocus', 'actor', 'language', 'type',
]);

export interface RegistrarInit {
  clock: Clock;
  log: Logger;
  bindings: BindingTable;
  /** Held identities by AOR (as {@link aorKey} gives it). */
  identities: ReadonlyMap<string, HeldIdentity>;
  domains: DomainPolicy;
  defaultExpiresS?: number;
  maxExpiresS?: number;
  minExpiresS?: number;
  /** Stores the AOR's registration (no bindings: exists = false). Rejects on failure. */
  publish(identity: HeldIdentity, bindings: readonly ContactBinding[]): Promise<void>;
  /** The public GRUU of an AOR at this peer (RFC 7904 §6, RFC 5627 pub-gruu). */
  gruuOf(aor: string): string;
}

/**
 * Text fit for a Reason-Phrase (RFC 3261 §25.1): user-supplied parts (an AOR may hold
 * escaped NULs, RFC 4475 §3.1.1.4) shown as '?' outside printable ASCII, and bounded.
 */
export function reasonText(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
}

/** The AOR of a SIP URI as a Resource Name: `user@host`, the host in lower case (RFC 3261 §19.1.4). */
export function aorKey(uri: SipUri): string {
  const host = uri.host.toLowerCase();
  return uri.user === undefined ? host : `${uri.user}@${host}`;
}

/** The AOR key of a user name from a certificate (domain in lower case). */
export function aorKeyOfName(name: string): string {
  const at = name.lastIndexOf('@');
  return at < 0 ? name.toLowerCase() : `${name.slice(0, at)}@${name.slice(at + 1).toLowerCase()}`;
}

/** The contact_prefs of a registration (RFC 7904 §3.2): the RFC 3840 feature parameters of its Contacts. */
export function contactPrefsOf(bindings: readonly ContactBinding[]): string {
  const out: string[] = [];
  for (const b of bindings) {
    for (const p of b.contact.params) {
      const n = p.name.toLowerCase();
      const feature = (n.startsWith('+') && n !== '+sip.instance') || FEATURE_TAGS.has(n);
      if (!feature) continue;
      const text = p.value === null ? p.name : `${p.name}=${p.quoted ? JSON.stringify(p.value) : p.value}`;
      if (!out.includes(text)) out.push(text);
    }
  }
  return out.join(';');
}

class RegisterRejection {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: { name: string; value: string }[] = [],
  ) {}
}

export class Registrar {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly defaultExpires: number;
  private readonly maxExpires: number;
  private readonly minExpires: number;

  constructor(private readonly init: RegistrarInit) {
    this.defaultExpires = init.defaultExpiresS ?? DEFAULT_EXPIRES_S;
    this.maxExpires = init.maxExpiresS ?? DEFAULT_MAX_EXPIRES_S;
    this.minExpires = init.minExpiresS ?? DEFAULT_MIN_EXPIRES_S;
  }

  /** Handles a REGISTER (RFC 3261 §10.3) and responds on `tx`. */
  async handle(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const toUri = req.to().uri;
    if (toUri.kind !== 'sip') {
      // The AOR of a REGISTER must be a SIP or SIPS URI (RFC 3261 §10.2; RFC 4475 §3.3.4: 400).
      tx.respond(tx.createResponse(400, 'Bad Request - the To AOR must be a SIP or SIPS URI'));
      return;
    }
    const aor = aorKey(toUri);
    if (!this.init.domains.allowsAor(aor)) {
      tx.respond(tx.createResponse(404, reasonText(`Not Found - the domain of ${aor} is not served by this overlay`)));
      return;
    }
    const identity = this.init.identities.get(aor);
    if (!identity) {
      tx.respond(tx.createResponse(403, reasonText(`Forbidden - this peer holds no RELOAD identity for ${aor}`)));
      return;
    }
    const previous = this.queues.get(aor) ?? Promise.resolve();
    const run = previous.then(() => this.apply(req, tx, identity));
    const settled = run.catch(() => undefined);
    this.queues.set(aor, settled);
    void settled.then(() => {
      if (this.queues.get(aor) === settled) this.queues.delete(aor);
    });
    await run;
  }

  private async apply(req: SipRequest, tx: ServerTransaction, identity: HeldIdentity): Promise<void> {
    const aor = aorKeyOfName(identity.aor);
    const now = this.init.clock.now();
    const current = this.init.bindings.get(aor);
    let next: ContactBinding[];
    try {
      next = this.update(req, aor, current, now);
    } catch (e) {
      if (!(e instanceof RegisterRejection)) throw e;
      const res = tx.createResponse(e.status, e.reason);
      for (const h of e.headers) res.append(h.name, h.value);
      tx.respond(res);
      return;
    }
    const changed = req.getAll('Contact').length > 0;
    if (changed) {
      try {
        await this.init.publish(identity, next);
      } catch (e) {
        this.init.log.warn('storing a SIP registration failed', { aor, error: (e as Error).message });
        tx.respond(tx.createResponse(500, 'Server Internal Error - storing the registration in the overlay failed'));
        return;
      }
      this.init.bindings.replace(aor, next);
    }
    const res = tx.createResponse(200);
    const gruu = req.optionTags('Supported').some((t) => t.toLowerCase() === 'gruu');
    const after = this.init.clock.now();
    for (const b of next) {
      const params = [...b.contact.params, { name: 'expires', value: String(Math.max(0, Math.ceil((b.expiresAt - after) / 1000))) }];
      if (gruu && getParam(b.contact.params, '+sip.instance') !== undefined) {
        // RFC 5627 §5.4 (pub-gruu), with the RFC 7904 §6 GRUU of this peer.
        params.push({ name: 'pub-gruu', value: this.init.gruuOf(aor), quoted: true });
      }
      res.append('Contact', formatNameAddr({ ...b.contact, params }));
    }
    if (gruu) res.append('Require', 'gruu');
    tx.respond(res);
  }

  /** The bindings after a REGISTER (RFC 3261 §10.3 steps 6-8), or a RegisterRejection. */
  private update(req: SipRequest, aor: string, current: ContactBinding[], now: number): ContactBinding[] {
    const contacts = req.contacts();
    if (contacts.length === 0) return current; // a query
    const callId = req.callId();
    const cseq = req.cseq().seq;
    const expiresHeader = req.expires();
    const inOrder = (b: ContactBinding): boolean => b.callId !== callId || cseq > b.cseq;
    if (contacts.includes('*')) {
      if (contacts.length !== 1 || expiresHeader !== 0) {
        throw new RegisterRejection(400, 'Bad Request - "Contact: *" must be alone and with Expires: 0');
      }
      if (!current.every(inOrder)) throw new RegisterRejection(500, 'Server Internal Error - out of order REGISTER (CSeq not higher)', [{ name: 'Retry-After', value: '1' }]);
      return [];
    }
    let next = [...current];
    for (const c of contacts as NameAddr[]) {
      if (c.uri.kind !== 'sip') throw new RegisterRejection(400, 'Bad Request - only sip: and sips: Contact URIs can be registered here');
      const uri = c.uri;
      const param = getParam(c.params, 'expires');
      let expires = param !== undefined && param !== null ? Number(param) : (expiresHeader ?? this.defaultExpires);
      if (expires !== 0 && expires < this.minExpires) {
        throw new RegisterRejection(423, 'Interval Too Brief', [{ name: 'Min-Expires', value: String(this.minExpires) }]);
      }
      expires = Math.min(expires, this.maxExpires);
      const existing = next.find((b) => uriEquals(b.contact.uri, uri));
      if (existing && !inOrder(existing)) {
        throw new RegisterRejection(500, 'Server Internal Error - out of order REGISTER (CSeq not higher)', [{ name: 'Retry-After', value: '1' }]);
      }
      next = next.filter((b) => b !== existing);
      if (expires === 0) continue;
      next.push({
        aor,
        contact: { ...(c.displayName !== undefined ? { displayName: c.displayName } : {}), uri, params: c.params.filter((p) => p.name.toLowerCase() !== 'expires') },
        expiresAt: now + expires * 1000,
        callId,
        cseq,
        received: req.received,
      });
    }
    return next;
  }
}
