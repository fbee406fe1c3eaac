/**
 * The SIP usage for RELOAD (RFC 7904) as a usage plugin, built only on the public usage API
 * (src/node/usage.ts): the SIP-REGISTRATION Kind (0x1) with its checks, registering and
 * forwarding AORs, resolving AORs and GRUUs to destination lists, and optionally a SIP
 * front end that serves ordinary SIP phones (registrar + proxy, see front-end.ts).
 *
 * @example A peer whose front end registers alice's phone and routes calls through the overlay:
 * ```ts
 * const alice = (await loadIdentity('./alice-id')).credentials;
 * const sip = sipUsage({ frontEnd: { host: '0.0.0.0', port: 5060, users: [alice] } });
 * const { node } = await createNodeFromIdentity('./peer-id', { usages: [sip], listen: [...] });
 * await node.start(); // phones REGISTER alice@example.org at udp/tcp 5060
 * const where = await sip.resolve('sip:alice@example.org'); // destination lists
 * ```
 */
import type { Credentials } from '../../src/security/credentials.js';
import type { UsageApi, UsagePlugin } from '../../src/node/usage.js';
import type { StoreAns } from '../../src/wire/storage.js';
import type { Destination } from '../../src/wire/destination.js';
import type { DomainPolicy } from './domain.js';
import { SipFrontEnd, type SipFrontEndOptions } from './front-end.js';
import { gruuUri } from './gruu.js';
import { domainPolicyOf, sipRegistrationKind } from './kind.js';
import { SIP_REGISTRATION_KIND, encodeSipRegistration } from './registration.js';
import { type Resolution, type ResolveOptions, resolveAor } from './resolver.js';

export * from './registration.js';
export * from './gruu.js';
export * from './domain.js';
export * from './kind.js';
export * from './resolver.js';
export { PeerConnector, SipConnectError, SIP_APPLICATION_ID, SIPS_APPLICATION_ID, DEFAULT_ATTACH_WAIT_MS } from './connector.js';
export { BindingTable, type ContactBinding } from './bindings.js';
export { Registrar, type HeldIdentity, aorKey, contactPrefsOf, DEFAULT_EXPIRES_S, DEFAULT_MAX_EXPIRES_S, DEFAULT_MIN_EXPIRES_S } from './registrar.js';
export { SipFrontEnd, type SipFrontEndOptions, type SipFrontEndStats } from './front-end.js';

export interface SipUsageOptions {
  /** Run a SIP front end for ordinary user agents (`reload-node start --sip HOST:PORT`). */
  frontEnd?: SipFrontEndOptions;
  /** Limits of AOR resolution for `resolve` (the front end has its own in `frontEnd.resolve`). */
  resolve?: ResolveOptions;
}

/** Options of a registration stored through the usage. */
export interface RegisterOptions {
  /** Register this identity's AOR (its certificate user name) with its Node-ID as key; default the node's own. */
  as?: Credentials;
  /** RFC 3840 contact predicate, e.g. `audio;video`. @default '' */
  contactPrefs?: string;
  /** Where calls go; the last entry is the peer to AppAttach. @default [this node] */
  destinations?: Destination[];
  /** Lifetime, seconds (refresh by registering again). @default 3600 */
  lifetimeS?: number;
}

export class SipUsageError extends Error {
  readonly code = 'ERR_SIP_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'SipUsageError';
  }
}

/** The SIP usage plugin plus what a program calls once the node runs. */
export interface SipUsage extends UsagePlugin {
  /** The front end, once started (when configured). */
  readonly frontEnd: SipFrontEnd | undefined;
  /** The overlay's SIP domain policy (RFC 7904 §3.4), once started. */
  readonly domains: DomainPolicy;
  /** Stores a `sip_registration_route` for an AOR (RFC 7904 §3.2), keyed by the storer's Node-ID. */
  register(opts?: RegisterOptions): Promise<StoreAns>;
  /** Stores a `sip_registration_uri`: calls to the AOR are forwarded to `target` (RFC 7904 §3.2). */
  forward(target: string, opts?: Pick<RegisterOptions, 'as' | 'lifetimeS'>): Promise<StoreAns>;
  /** Removes this identity's entry (exists = false, RFC 7904 §3.1). */
  unregister(opts?: Pick<RegisterOptions, 'as'>): Promise<StoreAns>;
  /** Resolves an AOR or GRUU to destination lists (RFC 7904 §4.2). */
  resolve(aor: string): Promise<Resolution>;
  /** A GRUU (RFC 7904 §6) for an AOR whose destination list is `destinations` (default: this node). */
  gruu(aor: string, destinations?: Destination[]): string;
}

/** Creates the SIP usage plugin (load it in `createNode({ usages })`). */
export function sipUsage(options: SipUsageOptions = {}): SipUsage {
  let api: UsageApi | undefined;
  let frontEnd: SipFrontEnd | undefined;
  let domains: DomainPolicy | undefined;

  const running = (): UsageApi => {
    if (!api) throw new SipUsageError('the SIP usage is not started (the node has not joined)');
    return api;
  };
  /** AOR and dictionary key of the writing identity (RFC 7904 §3.2, §3.3 pre-checks). */
  const writer = (as: Credentials | undefined): { aor: string; key: Uint8Array } => {
    const a = running();
    const aor = as ? as.certificate.userName : a.userName;
    if (aor === undefined) throw new SipUsageError('the certificate has no user name: it cannot own an AOR');
    // RFC 7904 §3.3: check the AOR against the overlay's namespaces before storing.
    if (!domains!.allowsAor(aor)) throw new SipUsageError(`the domain of ${aor} is not served by this overlay`);
    return { aor, key: as ? as.nodeId : a.nodeId };
  };

  const usage: SipUsage = {
    name: 'sip',
    kinds: [sipRegistrationKind()],
    get frontEnd() {
      return frontEnd;
    },
    get domains() {
      if (!domains) throw new SipUsageError('the SIP usage is not started');
      return domains;
    },
    async start(a) {
      api = a;
      domains = domainPolicyOf(a.kind(SIP_REGISTRATION_KIND), a.overlay);
      for (const bad of domains.invalid) a.log.warn('SIP domain-restriction pattern ignored', { error: bad.message });
      if (options.frontEnd) {
        frontEnd = await SipFrontEnd.start(a, options.frontEnd, domains);
        a.log.info('SIP front end listening', {
          ua: `${frontEnd.uaAddress.host}:${frontEnd.uaAddress.port}`,
          peers: `${frontEnd.peerAddress.host}:${frontEnd.peerAddress.port}`,
          aors: [...frontEnd.identities.values()].map((i) => i.aor),
        });
      }
    },
    async stop() {
      await frontEnd?.stop();
      frontEnd = undefined;
    },
    async register(opts = {}) {
      const a = running();
      const { aor, key } = writer(opts.as);
      const value = encodeSipRegistration({
        type: 'route',
        contactPrefs: opts.contactPrefs ?? '',
        destinations: opts.destinations ?? [{ type: 'node', id: a.nodeId }],
      });
      return a.store(aor, SIP_REGISTRATION_KIND, [{ model: 'dictionary', key, value }], {
        ...(opts.lifetimeS !== undefined ? { lifetimeS: opts.lifetimeS } : {}),
        ...(opts.as ? { as: opts.as } : {}),
      });
    },
    async forward(target, opts = {}) {
      const a = running();
      const { aor, key } = writer(opts.as);
      const value = encodeSipRegistration({ type: 'uri', uri: /^sips?:/i.test(target) ? target : `sip:${target}` });
      return a.store(aor, SIP_REGISTRATION_KIND, [{ model: 'dictionary', key, value }], {
        ...(opts.lifetimeS !== undefined ? { lifetimeS: opts.lifetimeS } : {}),
        ...(opts.as ? { as: opts.as } : {}),
      });
    },
    async unregister(opts = {}) {
      const a = running();
      const { aor, key } = writer(opts.as);
      return a.store(aor, SIP_REGISTRATION_KIND, [{ model: 'dictionary', key, value: new Uint8Array(0), exists: false }], opts.as ? { as: opts.as } : {});
    },
    resolve(aor) {
      return resolveAor(running(), aor, options.resolve);
    },
    gruu(aor, destinations) {
      return gruuUri(aor, destinations ?? [{ type: 'node', id: running().nodeId }]);
    },
  };
  return usage;
}
