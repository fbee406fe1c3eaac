/**
 * The SIP-REGISTRATION Kind (RFC 7904 §7, §9.1): Kind-ID 0x1, dictionary data model keyed
 * by the storing node's Node-ID, USER-NODE-MATCH access control, SipRegistration values.
 *
 * USER-NODE-MATCH (RFC 6940 §7.3.3, run by the storage layer for the value's signer and, on
 * original stores, the StoreReq's) gives two of RFC 7904 §3.3's checks: the signer's user
 * name hashes to the Resource-ID, and the dictionary key is the signer's Node-ID. The usage
 * adds the rest here: the value must be a well-formed SipRegistration, and the AOR (the
 * signer's user name, which the policy tied to the Resource-ID) must be in a domain the
 * overlay serves (RFC 7904 §3.4 domain-restriction), else Error_Forbidden.
 */
import { ReloadError } from '../../src/common/errors.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import type { ValueCheck } from '../../src/storage/policies.js';
import { DecodeError } from '../../src/wire/codec.js';
import type { StoredDataValue } from '../../src/wire/storage.js';
import { type DomainRestriction, DomainPolicy } from './domain.js';
import { SIP_REGISTRATION_KIND, decodeSipRegistration } from './registration.js';

/** max-count when the configuration does not list the Kind: registrations (devices) per AOR. */
export const DEFAULT_MAX_REGISTRATIONS_PER_AOR = 32;
/** max-size when the configuration does not list the Kind: bytes of one SipRegistration. */
export const DEFAULT_MAX_REGISTRATION_BYTES = 1024;

/** The domain policy of a SIP-REGISTRATION Kind definition (its configured restriction). */
export function domainPolicyOf(kind: KindDefinition | undefined, overlay: string): DomainPolicy {
  const r = kind?.params?.domainRestriction as DomainRestriction | undefined;
  return new DomainPolicy(r, overlay);
}

const policies = new WeakMap<KindDefinition, Map<string, DomainPolicy>>();

/** Cached per Kind definition and overlay (patterns are compiled once). */
function cachedPolicy(kind: KindDefinition, overlay: string): DomainPolicy {
  let byOverlay = policies.get(kind);
  if (!byOverlay) policies.set(kind, (byOverlay = new Map()));
  let p = byOverlay.get(overlay);
  if (!p) byOverlay.set(overlay, (p = domainPolicyOf(kind, overlay)));
  return p;
}

/** The storing peer's SIP-REGISTRATION checks beyond USER-NODE-MATCH (RFC 7904 §3.3). */
export function validateSipRegistration(value: StoredDataValue, ctx: ValueCheck): void {
  try {
    decodeSipRegistration(value.value.value);
  } catch (e) {
    if (e instanceof DecodeError) throw ReloadError.invalidMessage(`SIP-REGISTRATION: not a SipRegistration: ${e.message}`);
    throw e;
  }
  const aor = ctx.valueSigner.certificate.userName;
  if (aor === undefined) throw ReloadError.forbidden('SIP-REGISTRATION: the signer has no user name (AOR)');
  // The overlay's own domain is its name, which the trusted certificate names too.
  const policy = cachedPolicy(ctx.kind, ctx.valueSigner.certificate.overlay ?? '');
  if (!policy.allowsAor(aor)) {
    throw ReloadError.forbidden(`SIP-REGISTRATION: the domain of ${aor} is not served by this overlay (RFC 7904 §3.4 domain-restriction)`);
  }
}

/** The Kind as the SIP usage declares it (configured max-count / max-size win). */
export function sipRegistrationKind(): Omit<KindDefinition, 'source'> {
  return {
    id: SIP_REGISTRATION_KIND,
    name: 'SIP-REGISTRATION',
    dataModel: 'dictionary',
    accessControl: 'USER-NODE-MATCH',
    maxCount: DEFAULT_MAX_REGISTRATIONS_PER_AOR,
    maxSize: DEFAULT_MAX_REGISTRATION_BYTES,
    validate: validateSipRegistration,
  };
}
