/**
 * One conference at one focus peer (the DisCo usage's per-conference state, see index.ts):
 * the DISCO-REGISTRATION entry this focus keeps refreshed, the registrations it polls, its
 * subscriptions to the other foci (event-package.ts) and its notifier, the SIP side
 * (focus.ts), and what happens when another focus goes away: election (rules.electPrimary)
 * and re-INVITEs (rules.assignOrphans).
 */
import type { TimerHandle } from '../../src/common/clock.js';
import { DecodeError, Reader, Writer, bytesEqual, fromHex, toHex } from '../../src/wire/codec.js';
import { ConferenceEventNotifier, ConferenceEventSubscriber } from './event-package.js';
import { FocusSip, participantNodeOf } from './focus.js';
import { DISCO_REGISTRATION_KIND, type DisCoRegistration, decodeDisCoRegistration, encodeDisCoRegistration } from './registration.js';
import { ConferenceRoster, type RosterEndpoint } from './roster.js';
import { type FocusView, assignOrphans, currentPrimary, electPrimary } from './rules.js';
import type { DiscoUsage } from './index.js';

/** A registered focus as read from the overlay (validated against the ACL). */
export interface RegisteredFocus extends FocusView {
  nodeHex: string;
  userName: string | undefined;
  sipContact: string;
  coordinate: string;
  registration: DisCoRegistration;
  /** Seconds of lifetime left when fetched. */
  lifetimeS: number;
  /** When the writer stored the entry (its storage_time, ms). */
  storageTimeMs: number;
}

/** Advertisement data: u16 capacity, u16 free places. */
export function encodeFocusAdvertisement(capacity: number, free: number): Uint8Array {
  const w = new Writer(new Uint8Array(4));
  w.u16(Math.min(capacity, 0xffff));
  w.u16(Math.max(0, Math.min(free, 0xffff)));
  return w.buf;
}

export function decodeFocusAdvertisement(data: Uint8Array): { capacity: number; free: number } {
  const r = new Reader(data);
  const capacity = r.u16('FocusAdvertisement', 'capacity');
  const free = r.u16('FocusAdvertisement', 'free');
  return { capacity, free };
}

/** Decodes fetched registration payloads into focus views (malformed, deleted, or inconsistent ones dropped). */
export function registeredFoci(
  values: { key: Uint8Array | undefined; exists: boolean; payload: Uint8Array; signer: { userName: string | undefined; nodeId: Uint8Array }; lifetimeS: number; storageTimeMs?: number }[],
  nodeIdLength: number,
): RegisteredFocus[] {
  const out: RegisteredFocus[] = [];
  for (const v of values) {
    if (!v.exists || v.lifetimeS <= 0 || !v.key) continue;
    let reg: DisCoRegistration;
    try {
      reg = decodeDisCoRegistration(v.payload, nodeIdLength);
    } catch (e) {
      if (e instanceof DecodeError) continue;
      throw e;
    }
    // The entry describes its writer: key, node_id and signer agree (RFC 8076 §3.1).
    if (!reg.ext || !bytesEqual(reg.nodeId, v.key) || !bytesEqual(reg.nodeId, v.signer.nodeId)) continue;
    out.push({
      nodeId: reg.nodeId,
      nodeHex: toHex(reg.nodeId),
      role: reg.ext.role,
      term: reg.ext.term,
      capacity: reg.ext.capacity,
      participants: reg.ext.participants,
      userName: v.signer.userName,
      sipContact: reg.ext.sipContact,
      coordinate: reg.coordinate,
      registration: reg,
      lifetimeS: v.lifetimeS,
      storageTimeMs: v.storageTimeMs ?? 0,
    });
  }
  return out;
}

/** A dead focus' entry stored this long after its death (ms, its clock vs ours) revives it. */
export const REVIVE_MARGIN_MS = 2000;
/** How many times a departed focus' participant missing from the roster is re-assigned. */
export const ORPHAN_SWEEPS = 3;

/** A subscription being set up. */
export const PENDING = 'pending' as const;

/** One conference this peer serves as a focus. */
export class Conference {
  readonly roster: ConferenceRoster;
  readonly sip: FocusSip;
  readonly notifier: ConferenceEventNotifier;
  readonly subscribers = new Map<string, ConferenceEventSubscriber | typeof PENDING>();
  /** Foci (hex) known to have left or failed, with the time. */
  readonly dead = new Map<string, number>();
  registered: RegisteredFocus[] = [];
  role: 'primary' | 'secondary';
  term: number;
  refreshTimer: TimerHandle | undefined;
  pollTimer: TimerHandle | undefined;
  writeTimer: TimerHandle | undefined;
  stopped = false;
  recoveries = 0;
  /** Participants of departed foci not seen in the roster again yet (endpoint entity →). */
  private readonly orphans = new Map<string, { o: RosterEndpoint; sweeps: number }>();
  private readonly inviting = new Set<string>();
  private sweepTimer: TimerHandle | undefined;
  private watchingOrphans = false;

  constructor(
    readonly usage: DiscoUsage,
    readonly uri: string,
    readonly resourceName: string,
    readonly gruu: string,
    role: 'primary' | 'secondary',
    term: number,
  ) {
    this.role = role;
    this.term = term;
    const fe = usage.frontEnd();
    const api = usage.api();
    const localFocus = { entity: gruu, nodeId: toHex(api.nodeId) };
    this.roster = new ConferenceRoster({ conferenceUri: uri, localFocus, description: { confUris: [{ uri, purpose: 'participation' }] } });
    this.sip = new FocusSip({
      conferenceUri: uri,
      gruu,
      frontEnd: fe,
      roster: this.roster,
      clock: api.clock,
      log: api.log,
      onLoadChange: () => this.loadChanged(),
    });
    this.notifier = new ConferenceEventNotifier({
      endpoint: fe.endpoint,
      roster: this.roster,
      clock: api.clock,
      log: api.log,
      contact: `<${gruu}>;isfocus`,
      minExpiresS: Math.min(60, usage.subscriptionExpiresS),
      minNotifyIntervalMs: usage.minNotifyIntervalMs,
    });
  }

  get nodeHex(): string {
    return toHex(this.usage.api().nodeId);
  }

  /** This focus' view for the rules. */
  selfView(): FocusView {
    return { nodeId: this.usage.api().nodeId, role: this.role, term: this.term, capacity: this.usage.capacity, participants: this.sip.count };
  }

  /** The registered foci believed alive, this one included with its current load. */
  alive(): FocusView[] {
    const others = this.registered.filter((f) => f.nodeHex !== this.nodeHex && !this.dead.has(f.nodeHex));
    // Loads from the roster: it follows every focus' participants as they change.
    const withLoad = others.map((f) => ({ ...f, participants: this.roster.remoteFoci().includes(f.sipContact) ? this.roster.remoteEndpoints(f.sipContact).length : f.participants }));
    return [this.selfView(), ...withLoad];
  }

  /** Stores this focus' entry (ShaRe writeShared: key = own Node-ID). */
  async writeRegistration(exists = true): Promise<void> {
    const u = this.usage;
    const api = u.api();
    const value = encodeDisCoRegistration({
      coordinate: u.coordinate,
      nodeId: api.nodeId,
      ext: {
        destinations: [{ type: 'node', id: api.nodeId }],
        sipContact: this.gruu,
        role: this.role,
        term: this.term,
        capacity: u.capacity,
        participants: this.sip.count,
      },
    });
    await u.share.writeShared(this.resourceName, DISCO_REGISTRATION_KIND, value, { lifetimeS: u.registrationLifetimeS, exists });
  }

  scheduleRefresh(): void {
    this.refreshTimer?.cancel();
    const api = this.usage.api();
    this.refreshTimer = api.clock.setTimeout(() => {
      if (this.stopped) return;
      this.writeRegistration()
        .catch((e: Error) => api.log.debug('DISCO-REGISTRATION refresh failed', { conference: this.uri, error: e.message }))
        .finally(() => {
          if (!this.stopped) this.scheduleRefresh();
        });
    }, Math.max(500, Math.floor((this.usage.registrationLifetimeS * 1000) / 3)));
  }

  private loadChanged(): void {
    if (this.stopped) return;
    this.usage.loadChanged();
    // Debounced rewrite of the entry so front ends see the load (DisCo: learn load from the registrations).
    if (this.writeTimer) return;
    const api = this.usage.api();
    this.writeTimer = api.clock.setTimeout(() => {
      this.writeTimer = undefined;
      if (this.stopped) return;
      this.writeRegistration().catch((e: Error) => api.log.debug('DISCO-REGISTRATION update failed', { error: e.message }));
    }, 200);
  }

  schedulePoll(): void {
    this.pollTimer?.cancel();
    const api = this.usage.api();
    this.pollTimer = api.clock.setTimeout(() => {
      if (this.stopped) return;
      this.poll()
        .catch((e: Error) => api.log.debug('DISCO-REGISTRATION poll failed', { conference: this.uri, error: e.message }))
        .finally(() => {
          if (!this.stopped) this.schedulePoll();
        });
    }, this.usage.pollIntervalMs);
  }

  /** Re-reads the registrations: subscribes to new foci, notices departed ones. */
  async poll(): Promise<void> {
    const now = await this.usage.fetchFoci(this.resourceName);
    if (this.stopped) return;
    const me = this.nodeHex;
    // A focus whose entry is gone (exists = false, expired) has left.
    for (const hex of [...this.subscribers.keys()]) {
      const entity = this.registered.find((f) => f.nodeHex === hex)?.sipContact;
      if (!now.some((f) => f.nodeHex === hex) && entity) this.focusGone(hex, entity, 'registration gone');
    }
    this.registered = now;
    // A focus taken for dead that keeps refreshing its entry is alive after all (a transient
    // failure): subscribe to it again.
    for (const f of now) {
      const diedAt = this.dead.get(f.nodeHex);
      if (diedAt !== undefined && f.storageTimeMs > diedAt + REVIVE_MARGIN_MS) this.dead.delete(f.nodeHex);
    }
    // Another focus claims primary with a larger term: we are secondary now.
    const primary = currentPrimary(now.filter((f) => !this.dead.has(f.nodeHex)));
    if (this.role === 'primary' && primary && primary.nodeHex !== me && (primary.term > this.term || (primary.term === this.term && toHex(primary.nodeId) < me))) {
      this.role = 'secondary';
      this.term = primary.term;
      void this.writeRegistration().catch(() => undefined);
    }
    if (this.role === 'secondary' && primary) this.term = Math.max(this.term, primary.term);
    // The registered primary is known dead, or nobody claims primary: elect.
    if (!primary || this.dead.has(primary.nodeHex)) this.maybeElect(primary?.term ?? this.term);
    for (const f of now) {
      if (f.nodeHex === me || this.dead.has(f.nodeHex) || this.subscribers.has(f.nodeHex)) continue;
      this.subscribe(f);
    }
  }

  private subscribe(f: RegisteredFocus): void {
    const u = this.usage;
    const api = u.api();
    const fe = u.frontEnd();
    // Placeholder until the connection is up, so a poll in between does not subscribe twice.
    this.subscribers.set(f.nodeHex, PENDING);
    const start = async (): Promise<void> => {
      const target = await fe.destinationFor({ kind: 'peer', nodeId: f.nodeId, destinations: f.registration.ext!.destinations });
      if (this.stopped || this.subscribers.get(f.nodeHex) !== PENDING) return;
      const sub = new ConferenceEventSubscriber({
        endpoint: fe.endpoint,
        roster: this.roster,
        clock: api.clock,
        log: api.log,
        focusUri: f.sipContact,
        focusId: f.sipContact,
        target,
        localUri: this.gruu,
        contact: `<${this.gruu}>;isfocus`,
        expiresS: u.subscriptionExpiresS,
      });
      sub.on('unreachable', (r) => this.focusGone(f.nodeHex, f.sipContact, `unreachable (${r.cause} during ${r.during})`));
      sub.on('terminated', (r) => {
        if (r.cause === 'notifier' || r.cause === 'deleted') this.focusGone(f.nodeHex, f.sipContact, `left (${r.reason ?? r.cause})`);
        else if (this.subscribers.get(f.nodeHex) === sub) this.subscribers.delete(f.nodeHex);
      });
      this.subscribers.set(f.nodeHex, sub);
      const outcome = await sub.start();
      if (!outcome.ok) api.log.debug('subscription to a focus failed', { focus: f.nodeHex, report: JSON.stringify(outcome.report) });
    };
    start().catch((e: Error) => {
      if (this.subscribers.get(f.nodeHex) === PENDING) this.focusGone(f.nodeHex, f.sipContact, `cannot connect (${e.message})`);
    });
  }

  /** A focus left or failed: forget it, elect a primary if needed, re-INVITE its participants. */
  focusGone(hex: string, focusEntity: string, why: string): void {
    if (this.stopped || this.dead.has(hex) || hex === this.nodeHex) return;
    const api = this.usage.api();
    api.log.info('DisCo focus gone', { conference: this.uri, focus: hex, why });
    this.dead.set(hex, api.clock.now());
    const sub = this.subscribers.get(hex);
    this.subscribers.delete(hex);
    if (sub && sub !== PENDING) void sub.stop().catch(() => undefined);
    const orphans = this.roster.removeFocus(focusEntity);
    const gone = this.registered.find((f) => f.nodeHex === hex);
    const primary = currentPrimary(this.registered.filter((f) => !this.dead.has(f.nodeHex)));
    if (gone?.role === 'primary' && (!primary || this.dead.has(primary.nodeHex) || primary.nodeHex === hex)) this.maybeElect(gone.term);
    else if (!primary && this.role !== 'primary') this.maybeElect(gone?.term ?? this.term);
    if (orphans.length > 0) this.recover(orphans);
  }

  /** Election (rules.electPrimary): the live focus with the smallest Node-ID becomes primary with term + 1. */
  private maybeElect(oldTerm: number): void {
    const alive = this.alive();
    const winner = electPrimary(alive);
    if (!winner || toHex(winner.nodeId) !== this.nodeHex || this.role === 'primary') return;
    this.role = 'primary';
    this.term = Math.max(this.term, oldTerm) + 1;
    const api = this.usage.api();
    api.log.info('DisCo: elected primary focus', { conference: this.uri, term: this.term });
    this.writeRegistration().catch((e: Error) => api.log.warn('storing the primary registration failed', { error: e.message }));
  }

  /**
   * SDCON re-INVITE on departure: this focus' share of the orphans (rules.assignOrphans).
   * Orphans are kept until they show up in the roster again: a sweep after two poll
   * intervals spreads those still missing over the foci alive then (e.g. when the focus one
   * was assigned to failed too), at most {@link ORPHAN_SWEEPS} times.
   */
  private recover(orphans: RosterEndpoint[]): void {
    for (const o of orphans) this.orphans.set(o.endpoint.entity, { o, sweeps: 0 });
    if (!this.watchingOrphans) {
      // An orphan seen in the roster again (re-INVITEd by any focus) is done with, even if it
      // leaves before the next sweep.
      this.watchingOrphans = true;
      this.roster.on('changed', () => {
        if (this.orphans.size === 0) return;
        for (const u of this.roster.merged().users?.list ?? []) for (const e of u.endpoints) this.orphans.delete(e.entity);
      });
    }
    this.reinviteShare(orphans);
    this.scheduleSweep();
  }

  private reinviteShare(orphans: RosterEndpoint[]): void {
    const entities = new Set(orphans.map((o) => o.endpoint.entity));
    // Loads without the orphans, so every focus computes the same spread whenever it notices.
    const foci = this.alive().map((f) => {
      const hex = toHex(f.nodeId);
      let n = f.participants;
      if (hex === this.nodeHex) n = [...this.sip.participants.values()].filter((p) => !entities.has(p.endpoint)).length;
      else {
        const entity = this.registered.find((r) => r.nodeHex === hex)?.sipContact;
        if (entity) n = this.roster.remoteEndpoints(entity).filter((e) => !entities.has(e.endpoint.entity)).length;
      }
      return { nodeId: f.nodeId, capacity: f.capacity, participants: n };
    });
    const zero = toHex(new Uint8Array(this.usage.api().nodeId.length));
    const list = orphans.map((o) => ({ entity: o.endpoint.entity, node: fromHex(participantNodeOf(o.endpoint) ?? zero), o }));
    const plan = assignOrphans(list, foci);
    for (const item of list) {
      if (plan.get(item.entity) !== this.nodeHex || this.inviting.has(item.entity)) continue;
      this.recoveries++;
      this.inviting.add(item.entity);
      void this.sip
        .reinvite({
          user: item.o.user.entity,
          ...(item.o.user.displayText ? { displayName: item.o.user.displayText } : {}),
          endpoint: item.entity,
          node: participantNodeOf(item.o.endpoint) ?? this.nodeHex,
        })
        .then((accepted) => {
          if (accepted) this.orphans.delete(item.entity);
        })
        .finally(() => this.inviting.delete(item.entity));
    }
  }

  private scheduleSweep(): void {
    if (this.sweepTimer || this.orphans.size === 0) return;
    const api = this.usage.api();
    this.sweepTimer = api.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      if (this.stopped) return;
      const present = new Set((this.roster.merged().users?.list ?? []).flatMap((u) => u.endpoints.map((e) => e.entity)));
      const missing: RosterEndpoint[] = [];
      for (const [entity, o] of this.orphans) {
        if (present.has(entity) || o.sweeps >= ORPHAN_SWEEPS) this.orphans.delete(entity);
        else {
          o.sweeps++;
          missing.push(o.o);
        }
      }
      if (missing.length > 0) this.reinviteShare(missing);
      this.scheduleSweep();
    }, 2 * this.usage.pollIntervalMs);
  }

  async stop(graceful: boolean): Promise<void> {
    this.stopped = true;
    this.refreshTimer?.cancel();
    this.pollTimer?.cancel();
    this.writeTimer?.cancel();
    this.sweepTimer?.cancel();
    if (!graceful) {
      await this.sip.stop(false);
      return;
    }
    await Promise.allSettled([
      this.writeRegistration(false),
      this.notifier.stop('noresource'),
      ...[...this.subscribers.values()].map((s) => (s === PENDING ? undefined : s.stop())),
    ]);
    await this.sip.stop(false);
  }
}

