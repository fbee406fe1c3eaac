/**
 * Resolving an AOR in the overlay (RFC 7904 §4.2): Fetch every SIP-REGISTRATION entry at
 * the AOR's Resource-ID (no dictionary keys named), follow `sip_registration_uri` entries
 * (call forwarding) by fetching those AORs in turn, and collect the destination lists of
 * `sip_registration_route` entries and GRUUs, without duplicates.
 *
 * Limits (RFC 7904 §8.2.1: the caller performs every retargeting step and must bound it):
 * the recursion depth and the number of targets are capped, and an AOR already visited is a
 * loop and is not fetched again.
 *
 * The fetcher re-checks what the storing peer was to enforce (RFC 7904 §3.3): an entry
 * counts only if its signature verified (UsageApi.fetch), its signer's user name hashes to
 * the Resource-ID fetched, and its dictionary key is the signer's Node-ID. Entries failing
 * these, tombstones (exists = false) and values that do not decode are skipped and counted.
 */
import type { UsageApi } from '../../src/node/usage.js';
import { bytesEqual, toHex, utf8 } from '../../src/wire/codec.js';
import type { Destination } from '../../src/wire/destination.js';
import { GRUU_PARAM, decodeGruuParam } from './gruu.js';
import { SIP_REGISTRATION_KIND, type SipRegistration, aorResourceName, decodeSipRegistration } from './registration.js';

/** How deep `sip_registration_uri` forwarding is followed (the called AOR is depth 0). */
export const DEFAULT_MAX_FORWARDING_DEPTH = 5;
/** The most targets (destination lists) one resolution returns: the fork limit. */
export const DEFAULT_MAX_TARGETS = 16;

export interface ResolveOptions {
  /** @default DEFAULT_MAX_FORWARDING_DEPTH */
  maxDepth?: number;
  /** @default DEFAULT_MAX_TARGETS */
  maxTargets?: number;
}

/** One place to send the call: a destination list to AppAttach along. */
export interface RegistrationTarget {
  /** The route to the peer holding the registration; its last entry is that peer. */
  destinations: Destination[];
  /** The registrant's RFC 3840 contact predicate ('' for GRUUs). */
  contactPrefs: string;
  /** The AORs that led here, the called one first (more than one after forwarding). */
  aors: string[];
  /** The dictionary key of the entry (the registering identity's Node-ID); absent for GRUUs. */
  key?: Uint8Array;
  /** Reached through a GRUU (RFC 7904 §6) rather than a stored registration. */
  gruu: boolean;
}

export interface Resolution {
  targets: RegistrationTarget[];
  /** Resource Names fetched, in order. */
  fetched: string[];
  /** AORs met again while following forwarding (not fetched twice). */
  loops: string[];
  /** Forwarding deeper than maxDepth, or targets beyond maxTargets, were left out. */
  truncated: boolean;
  /** Entries skipped: failed checks, undecodable or of an unknown type. */
  skipped: number;
  /** Fetches of forwarded-to AORs that failed (the called AOR's failure rejects instead). */
  errors: { aor: string; error: string }[];
}

/**
 * An AOR, a GRUU or a forwarding target as a SIP URI or bare `user@domain`: its Resource
 * Name (scheme and parameters removed, %-escapes decoded) and its `gr` destination list.
 */
export function parseAorReference(ref: string): { name: string; gruu?: Destination[] } {
  const bare = ref.replace(/^sips?:/i, '');
  const cut = bare.search(/[;?]/);
  const base = cut < 0 ? bare : bare.slice(0, cut);
  const name = aorResourceName(base);
  if (cut < 0) return { name };
  const params = bare.slice(cut).split('?')[0]!.split(';').slice(1);
  for (const p of params) {
    const eq = p.indexOf('=');
    if ((eq < 0 ? p : p.slice(0, eq)).toLowerCase() === GRUU_PARAM && eq >= 0) return { name, gruu: decodeGruuParam(p.slice(eq + 1)) };
  }
  return { name };
}

function listKey(list: readonly Destination[]): string {
  return list.map((d) => (d.type === 'compressed' ? `c${d.id}` : `${d.type[0]}${toHex(d.id)}`)).join('/');
}

/** Resolves an AOR (or GRUU) to the destination lists of its registrations (RFC 7904 §4.2). */
export async function resolveAor(api: Pick<UsageApi, 'fetch' | 'resourceId'>, aor: string, opts: ResolveOptions = {}): Promise<Resolution> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_FORWARDING_DEPTH;
  const maxTargets = opts.maxTargets ?? DEFAULT_MAX_TARGETS;
  const out: Resolution = { targets: [], fetched: [], loops: [], truncated: false, skipped: 0, errors: [] };
  const seenLists = new Set<string>();
  const visited = new Set<string>();
  const add = (t: RegistrationTarget): void => {
    const k = listKey(t.destinations);
    if (seenLists.has(k)) return;
    if (out.targets.length >= maxTargets) {
      out.truncated = true;
      return;
    }
    seenLists.add(k);
    out.targets.push(t);
  };
  const first = parseAorReference(aor);
  if (first.gruu) {
    // RFC 7904 §4.1 step 1: a GRUU is contacted directly, no Fetch.
    add({ destinations: first.gruu, contactPrefs: '', aors: [first.name], gruu: true });
    return out;
  }
  // Breadth first, so the nearer registrations come first.
  let level: { name: string; chain: string[] }[] = [{ name: first.name, chain: [first.name] }];
  for (let depth = 0; level.length > 0; depth++) {
    const next: { name: string; chain: string[] }[] = [];
    for (const item of level) {
      if (visited.has(item.name)) {
        out.loops.push(item.name);
        continue;
      }
      visited.add(item.name);
      out.fetched.push(item.name);
      let entries: { reg: SipRegistration; key: Uint8Array }[];
      try {
        entries = await fetchEntries(api, item.name, out);
      } catch (e) {
        if (depth === 0) throw e;
        out.errors.push({ aor: item.name, error: (e as Error).message });
        continue;
      }
      for (const { reg, key } of entries) {
        if (reg.type === 'route') {
          add({ destinations: reg.destinations, contactPrefs: reg.contactPrefs, aors: item.chain, key, gruu: false });
        } else if (reg.type === 'uri') {
          let ref: { name: string; gruu?: Destination[] };
          try {
            ref = parseAorReference(reg.uri);
          } catch {
            out.skipped++;
            continue;
          }
          if (ref.gruu) add({ destinations: ref.gruu, contactPrefs: '', aors: [...item.chain, ref.name], gruu: true });
          else if (depth + 1 > maxDepth) out.truncated = true;
          else next.push({ name: ref.name, chain: [...item.chain, ref.name] });
        } else {
          out.skipped++;
        }
      }
    }
    level = next;
  }
  return out;
}

/** The live, checked entries at one AOR. */
async function fetchEntries(api: Pick<UsageApi, 'fetch' | 'resourceId'>, name: string, out: Resolution): Promise<{ reg: SipRegistration; key: Uint8Array }[]> {
  const resourceId = api.resourceId(name);
  const r = await api.fetch(name, SIP_REGISTRATION_KIND);
  out.skipped += r.rejected;
  const entries: { reg: SipRegistration; key: Uint8Array }[] = [];
  for (const v of r.values) {
    const value = v.data.value;
    if (v.synthetic || !v.signer || value.model !== 'dictionary' || !value.value.exists) continue;
    const user = v.signer.certificate.userName;
    // RFC 7904 §3.3 re-checked: the signer owns the AOR and wrote under its own Node-ID.
    if (user === undefined || !bytesEqual(api.resourceId(utf8(user)), resourceId) || !bytesEqual(value.key, v.signer.nodeId)) {
      out.skipped++;
      continue;
    }
    try {
      entries.push({ reg: decodeSipRegistration(value.value.value), key: value.key });
    } catch {
      out.skipped++;
    }
  }
  return entries;
}
