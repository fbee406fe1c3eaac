/**
 * AOR resolution (RFC 7904 §4.2) against a scripted overlay: a wildcard Fetch per AOR,
 * forwarding (sip_registration_uri) followed breadth first, loops and depth bounded,
 * duplicate destination lists removed, GRUUs (§6) taken without a Fetch, and the §3.3
 * checks repeated by the fetcher (entries whose signer does not own the AOR, or whose key
 * is not the signer's Node-ID, are skipped).
 */
import t from 'tap';
import type { FetchResult, UsageApi } from '../../../src/node/usage.js';
import { resourceIdOf } from '../../../src/wire/ids.js';
import { toHex, utf8 } from '../../../src/wire/codec.js';
import type { Destination } from '../../../src/wire/destination.js';
import type { CertificateIdentity } from '../../../certs/identity.js';
import {
  SIP_REGISTRATION_KIND,
  type SipRegistration,
  encodeSipRegistration,
  encodeGruuParam,
  parseAorReference,
  resolveAor,
} from '../../../usages/sip/index.js';

const node = (b: number): Uint8Array => new Uint8Array(16).fill(b);
const dest = (b: number): Destination => ({ type: 'node', id: node(b) });

interface Entry {
  /** Signer's user name (default: the AOR itself). */
  user?: string;
  /** Signer's Node-ID (= key unless `key` says otherwise). */
  signer: number;
  key?: number;
  reg: SipRegistration | Uint8Array;
  exists?: boolean;
}

/** A fake usage API whose Fetch answers from `table` (by Resource Name) and records the names asked. */
function overlay(table: Record<string, Entry[]>) {
  const fetched: string[] = [];
  const api: Pick<UsageApi, 'fetch' | 'resourceId'> = {
    resourceId: (n) => resourceIdOf(n),
    async fetch(resource, kind) {
      if (kind !== SIP_REGISTRATION_KIND || typeof resource !== 'string') throw new Error('unexpected fetch');
      fetched.push(resource);
      const values = (table[resource] ?? []).map((e) => ({
        data: {
          storageTime: 1n,
          lifetime: 60,
          value: {
            model: 'dictionary' as const,
            key: node(e.key ?? e.signer),
            value: { exists: e.exists ?? true, value: e.reg instanceof Uint8Array ? e.reg : encodeSipRegistration(e.reg) },
          },
          signature: { hashAlg: 4, sigAlg: 1, identity: { type: 'none' as const }, value: new Uint8Array(0) },
        },
        signer: { nodeId: node(e.signer), certificate: { userName: e.user ?? resource } as unknown as CertificateIdentity },
        synthetic: false,
      }));
      return { kind, generation: 1n, values, rejected: 0, from: node(0xee) } as unknown as FetchResult;
    },
  };
  return { api, fetched };
}

const route = (...ids: number[]): SipRegistration => ({ type: 'route', contactPrefs: 'audio', destinations: ids.map(dest) });
const uri = (u: string): SipRegistration => ({ type: 'uri', uri: u });

t.test('one AOR, two devices: both destination lists', async (t) => {
  const { api, fetched } = overlay({ 'alice@x.example': [{ signer: 1, reg: route(1) }, { signer: 2, reg: route(9, 2) }] });
  const r = await resolveAor(api, 'sip:alice@x.example');
  t.same(fetched, ['alice@x.example'], 'one wildcard Fetch');
  t.same(r.targets.map((x) => x.destinations.map((d) => toHex((d as { id: Uint8Array }).id).slice(0, 2))), [['01'], ['09', '02']]);
  t.same(r.targets.map((x) => x.aors), [['alice@x.example'], ['alice@x.example']]);
  t.equal(r.targets[0]!.contactPrefs, 'audio');
  t.equal(r.truncated, false);
});

t.test('forwarding is followed; duplicates removed; loops stop', async (t) => {
  const { api, fetched } = overlay({
    'a@x.example': [{ signer: 1, reg: uri('sip:b@x.example') }, { signer: 2, reg: route(7) }],
    'b@x.example': [{ signer: 3, reg: uri('sips:a@x.example') }, { signer: 4, reg: route(7) }, { signer: 5, reg: route(8) }],
  });
  const r = await resolveAor(api, 'a@x.example');
  t.same(fetched, ['a@x.example', 'b@x.example'], 'each AOR fetched once');
  t.same(r.loops, ['a@x.example'], 'the way back to a is a loop');
  t.same(r.targets.map((x) => [x.aors, toHex((x.destinations[0] as { id: Uint8Array }).id).slice(0, 2)]), [
    [['a@x.example'], '07'],
    [['a@x.example', 'b@x.example'], '08'],
  ], 'the duplicate list [7] appears once');
});

t.test('the forwarding depth is bounded', async (t) => {
  const table: Record<string, Entry[]> = {};
  for (let i = 0; i < 10; i++) table[`u${i}@x.example`] = [{ signer: i + 1, reg: uri(`u${i + 1}@x.example`) }];
  table['u10@x.example'] = [{ signer: 50, reg: route(50) }];
  const { api, fetched } = overlay(table);
  const r = await resolveAor(api, 'u0@x.example', { maxDepth: 3 });
  t.equal(fetched.length, 4, 'u0..u3 fetched');
  t.equal(r.truncated, true);
  t.same(r.targets, []);
  const all = await resolveAor(overlay(table).api, 'u0@x.example');
  t.equal(all.targets.length, 0, 'default depth 5 does not reach u10 either');
  const deep = await resolveAor(overlay(table).api, 'u0@x.example', { maxDepth: 10 });
  t.same(deep.targets.map((x) => x.aors.length), [11], 'with depth 10 the chain of 11 AORs resolves');
});

t.test('the number of targets is bounded', async (t) => {
  const entries = Array.from({ length: 20 }, (_, i) => ({ signer: i + 1, reg: route(i + 1) }));
  const r = await resolveAor(overlay({ 'many@x.example': entries }).api, 'many@x.example', { maxTargets: 4 });
  t.equal(r.targets.length, 4);
  t.equal(r.truncated, true);
});

t.test('entries failing the RFC 7904 §3.3 checks, tombstones and garbage are skipped', async (t) => {
  const { api } = overlay({
    'alice@x.example': [
      { signer: 1, reg: route(1) },
      { signer: 2, user: 'mallory@x.example', reg: route(66) }, // signer does not own the AOR
      { signer: 3, key: 4, reg: route(3) }, // key is not the signer's Node-ID
      { signer: 5, reg: route(5), exists: false },
      { signer: 6, reg: utf8('not a SipRegistration') },
      { signer: 7, reg: { type: 'unknown', code: 9, data: new Uint8Array([1, 2]) } },
    ],
  });
  const r = await resolveAor(api, 'alice@x.example');
  t.same(r.targets.map((x) => toHex((x.destinations[0] as { id: Uint8Array }).id).slice(0, 2)), ['01']);
  t.equal(r.skipped, 4, 'foreign signer, wrong key, undecodable, unknown type');
});

t.test('a GRUU is resolved from its gr parameter, without a Fetch (RFC 7904 §4.1 step 1)', async (t) => {
  const { api, fetched } = overlay({});
  const gr = encodeGruuParam([dest(3), dest(4)]);
  const r = await resolveAor(api, `sip:alice@x.example;gr=${gr}`);
  t.same(fetched, []);
  t.equal(r.targets.length, 1);
  t.equal(r.targets[0]!.gruu, true);
  t.same(r.targets[0]!.destinations.map((d) => (d as { id: Uint8Array }).id[0]), [3, 4]);
  t.same(parseAorReference(`alice@x.example;gr=${gr};lr`).gruu?.length, 2);
  // A forwarding entry may name a GRUU, too.
  const fwd = overlay({ 'b@x.example': [{ signer: 1, reg: uri(`sip:alice@x.example;gr=${gr}`) }] });
  const r2 = await resolveAor(fwd.api, 'b@x.example');
  t.same(fwd.fetched, ['b@x.example']);
  t.same(r2.targets.map((x) => [x.gruu, x.aors]), [[true, ['b@x.example', 'alice@x.example']]]);
});

t.test('AOR references: scheme, parameters and escapes', async (t) => {
  t.same(parseAorReference('sip:b%6Fb@x.example;transport=tcp'), { name: 'bob@x.example' });
  t.same(parseAorReference('SIPS:carol@x.example'), { name: 'carol@x.example' });
  t.throws(() => parseAorReference('sip:alice@x.example;gr=***'), { name: 'DecodeError' });
  t.throws(() => parseAorReference('sip:a%zz@x.example'), { name: 'DecodeError' });
});

t.test('a Fetch failure of the called AOR rejects; of a forwarded-to AOR it is reported', async (t) => {
  const failing: Pick<UsageApi, 'fetch' | 'resourceId'> = {
    resourceId: (n) => resourceIdOf(n),
    async fetch(resource) {
      if (resource === 'b@x.example') throw new Error('request timeout');
      return overlay({ 'a@x.example': [{ signer: 1, reg: uri('b@x.example') }, { signer: 2, reg: route(2) }] }).api.fetch(resource, SIP_REGISTRATION_KIND);
    },
  };
  const r = await resolveAor(failing, 'a@x.example');
  t.same(r.errors, [{ aor: 'b@x.example', error: 'request timeout' }]);
  t.equal(r.targets.length, 1);
  await t.rejects(resolveAor(failing, 'b@x.example'), { message: 'request timeout' });
});
