/**
 * The DisCo decisions (usages/sdcon/rules.ts): which registration is the primary, the
 * election of a new primary, where a front end sends a call, the delegation decision of a
 * focus, and the spread of a departed focus' participants.
 */
import t from 'tap';
import { toHex } from '../../../src/wire/codec.js';
import { type FocusView, assignOrphans, chooseForFrontEnd, currentPrimary, electPrimary, focusDecision, freePlaces } from '../../../usages/sdcon/rules.js';

/** A 16-byte id whose first byte is `b` (ring position b/256). */
const id = (b: number): Uint8Array => {
  const x = new Uint8Array(16);
  x[0] = b;
  return x;
};
const focus = (b: number, role: 'primary' | 'secondary', term: number, capacity: number, participants: number): FocusView => ({ nodeId: id(b), role, term, capacity, participants });
const hex = (b: number): string => toHex(id(b));

t.test('currentPrimary: the primary entry with the largest term, then the smaller Node-ID', async (t) => {
  t.equal(currentPrimary([focus(0x10, 'secondary', 1, 3, 0)]), undefined, 'no entry claims primary');
  const stale = focus(0x10, 'primary', 1, 3, 3);
  const elected = focus(0x80, 'primary', 2, 3, 5);
  t.equal(currentPrimary([stale, elected]), elected, 'a dead primary’s stale entry loses to the elected one');
  t.equal(currentPrimary([focus(0x90, 'primary', 2, 3, 0), focus(0x20, 'primary', 2, 3, 0)])?.nodeId[0], 0x20, 'equal terms: the smaller Node-ID');
});

t.test('electPrimary: the smallest Node-ID among the live foci, whatever the order', async (t) => {
  const a = [focus(0x80, 'secondary', 1, 3, 3), focus(0x11, 'secondary', 1, 3, 1), focus(0xf0, 'secondary', 1, 3, 0)];
  t.equal(electPrimary(a)?.nodeId[0], 0x11);
  t.equal(electPrimary([...a].reverse())?.nodeId[0], 0x11, 'order does not matter: every focus computes the same winner');
  t.equal(electPrimary([]), undefined);
});

t.test('chooseForFrontEnd: primary while it has room, else the nearest with room, else the primary recruits', async (t) => {
  const p = focus(0x10, 'primary', 1, 3, 2);
  const s1 = focus(0x40, 'secondary', 1, 3, 1);
  const s2 = focus(0xc0, 'secondary', 1, 3, 0);
  t.match(chooseForFrontEnd([s1, s2, p], id(0xc8)), { focus: p, why: 'primary-free' });
  const full = { ...p, participants: 3 };
  t.match(chooseForFrontEnd([full, s1, s2], id(0x48)), { focus: s1, why: 'nearest-free' }, 'near 0x48: 0x40');
  t.match(chooseForFrontEnd([full, s1, s2], id(0xc8)), { focus: s2, why: 'nearest-free' }, 'near 0xc8: 0xc0');
  t.match(chooseForFrontEnd([full, s1, s2], id(0xc8), [id(0xc0)]), { focus: s1, why: 'nearest-free' }, 'an unreachable focus is skipped');
  t.match(chooseForFrontEnd([full, { ...s1, participants: 3 }], id(0x48)), { focus: full, why: 'primary-recruits' });
  t.match(chooseForFrontEnd([{ ...s1, participants: 3 }], id(0x48)), { focus: { nodeId: id(0x40) }, why: 'primary-recruits' }, 'no primary entry: the electable focus');
  t.equal(chooseForFrontEnd([], id(1)), undefined);
  t.equal(freePlaces({ capacity: 3, participants: 5 }), 0, 'over capacity: no free place');
});

t.test('focusDecision: accept / delegate / recruit / accept over capacity', async (t) => {
  const self = id(0x10);
  const base = { self, capacity: 3, delegated: false, participant: id(0x50), registered: [focus(0x10, 'primary', 1, 3, 3)], directory: [] };
  t.same(focusDecision({ ...base, participants: 2 }), { action: 'accept', overCapacity: false }, 'room here');
  t.same(focusDecision({ ...base, participants: 3, delegated: true }), { action: 'accept', overCapacity: true }, 'one hop of delegation only');
  const reg = [focus(0x10, 'primary', 1, 3, 3), focus(0x60, 'secondary', 1, 3, 1), focus(0x90, 'secondary', 1, 3, 2)];
  const d = focusDecision({ ...base, participants: 3, registered: reg });
  t.same(d.action === 'delegate' && [toHex(d.to), d.recruit], [hex(0x60), false], 'a registered focus with room, nearest to the participant (0x50 → 0x60)');
  const fullReg = reg.map((f) => ({ ...f, participants: 3 }));
  const dir = [
    { nodeId: id(0x10), free: 3 }, // itself: excluded
    { nodeId: id(0x60), free: 3 }, // serving already (full): excluded
    { nodeId: id(0x48), free: 0 }, // no room
    { nodeId: id(0x30), free: 2 },
    { nodeId: id(0xa0), free: 5 },
  ];
  const r = focusDecision({ ...base, participants: 3, registered: fullReg, directory: dir });
  t.same(r.action === 'delegate' && [toHex(r.to), r.recruit], [hex(0x30), true], 'recruit the nearest focus-capable peer with room that does not serve yet');
  t.same(focusDecision({ ...base, participants: 3, registered: fullReg, directory: [{ nodeId: id(0x48), free: 0 }] }), { action: 'accept', overCapacity: true }, 'nobody to help: accepted over capacity');
});

t.test('assignOrphans: same spread everywhere, free places first, then the nearest over capacity', async (t) => {
  const foci = [
    { nodeId: id(0x10), capacity: 3, participants: 3 },
    { nodeId: id(0x80), capacity: 3, participants: 2 },
  ];
  const orphans = [
    { entity: 'sip:c@h', node: id(0x12) },
    { entity: 'sip:a@h', node: id(0x14) },
    { entity: 'sip:b@h', node: id(0x7f) },
  ];
  const plan = assignOrphans(orphans, foci);
  // In entity order: a (near 0x10, but only 0x80 has room) → 0x80 (now full); b → nearest 0x80; c → nearest 0x10.
  t.same(Object.fromEntries(plan), { 'sip:a@h': hex(0x80), 'sip:b@h': hex(0x80), 'sip:c@h': hex(0x10) });
  t.same(Object.fromEntries(assignOrphans([...orphans].reverse(), [...foci].reverse())), Object.fromEntries(plan), 'independent of input order');
  t.equal(assignOrphans(orphans, []).size, 0, 'no focus left: nobody is assigned');
});
