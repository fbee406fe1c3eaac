/**
 * ConferenceRoster: the local part with its version, remote foci' documents applied with
 * RFC 4575 §4.6, the merged view (every endpoint tagged with its focus), snapshots and the
 * partial documents built from them, and removal of a failed focus.
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { SeededRandom } from '../../../src/common/random.js';
import {
  type ConferenceInfo,
  applyNotification,
  canonicalConferenceInfo,
  encodeConferenceInfo,
  parseConferenceInfo,
} from '../../../usages/sdcon/conference-info.js';
import { ConferenceRoster } from '../../../usages/sdcon/roster.js';
import { randomEndpoint } from './fixtures.js';

const CONF = 'sip:standup-conf-alice@dht.example.org';
const A = 'sip:standup-conf-alice@10.0.0.1;gr=focusA';
const B = 'sip:standup-conf-alice@10.0.0.2;gr=focusB';
const C = 'sip:standup-conf-alice@10.0.0.3;gr=focusC';

function roster(focus = A): ConferenceRoster {
  return new ConferenceRoster({ conferenceUri: CONF, localFocus: { entity: focus, nodeId: 'aa' }, description: { subject: 'Stand-up' } });
}

/** A remote focus' full document listing endpoints served by several foci. */
function remoteDoc(version: number, entries: Array<[user: string, endpoint: string, focus: string | undefined]>): ConferenceInfo {
  const users = new Map<string, ConferenceInfo['users'] extends infer U ? (U extends { list: (infer X)[] } ? X : never) : never>();
  for (const [user, ep, focus] of entries) {
    let u = users.get(user);
    if (!u) {
      u = { entity: user, state: 'full', displayText: user.slice(4, 8), endpoints: [] };
      users.set(user, u);
    }
    u.endpoints.push({ entity: ep, state: 'full', status: 'connected', media: [], ...(focus ? { focus: { entity: focus } } : {}) });
  }
  return { entity: CONF, version, state: 'full', users: { state: 'full', list: [...users.values()] } };
}

t.test('local part: add, update, remove; versions and the changed event', async (t) => {
  const r = roster();
  const changes: number[] = [];
  r.on('changed', (rev) => changes.push(rev));
  t.equal(r.localVersion, 0);
  r.setEndpoint({ entity: 'sip:alice@x', displayText: 'Alice' }, { entity: 'sip:alice@x;gr=1', status: 'connected', joiningMethod: 'focus-owner', media: [] });
  r.setEndpoint({ entity: 'sip:bob@x' }, { entity: 'sip:bob@x', status: 'alerting', media: [{ id: '1', type: 'audio' }] });
  t.equal(r.localVersion, 2);
  r.setEndpoint({ entity: 'sip:bob@x' }, { entity: 'sip:bob@x', status: 'alerting', media: [{ id: '1', type: 'audio' }] });
  t.equal(r.localVersion, 2, 'an identical set is no change');
  t.ok(r.updateEndpoint('sip:bob@x', 'sip:bob@x', { status: 'connected', joiningMethod: 'dialed-in' }));
  t.notOk(r.updateEndpoint('sip:bob@x', 'sip:nobody@x', { status: 'connected' }), 'unknown endpoint');
  t.equal(r.localVersion, 3);
  t.same(changes, [1, 2, 3]);
  const doc = r.localDocument();
  t.equal(doc.version, 3);
  t.equal(doc.entity, CONF);
  t.same(doc.users!.list.map((u) => u.entity), ['sip:alice@x', 'sip:bob@x']);
  const bob = doc.users!.list[1]!.endpoints[0]!;
  t.equal(bob.status, 'connected');
  t.same(bob.focus, { entity: A, nodeId: 'aa' }, 'local endpoints carry this focus');
  t.ok(r.updateEndpoint('sip:bob@x', 'sip:bob@x', { joiningMethod: undefined }));
  t.notOk('joiningMethod' in r.localDocument().users!.list[1]!.endpoints[0]!, 'undefined in a patch removes the field');
  t.equal(r.localEndpointCount, 2);
  const removed = r.removeEndpoint('sip:alice@x', 'sip:alice@x;gr=1');
  t.equal(removed?.entity, 'sip:alice@x;gr=1');
  t.equal(r.removeEndpoint('sip:alice@x', 'sip:alice@x;gr=1'), undefined);
  t.same(r.localDocument().users!.list.map((u) => u.entity), ['sip:bob@x'], 'a user without endpoints leaves');
  t.equal(r.localVersion, 5);
  t.same(r.localEndpoints().map((e) => e.endpoint.entity), ['sip:bob@x']);
});

t.test('remote parts: only endpoints the remote focus serves count; merged view tags every endpoint', async (t) => {
  const r = roster();
  r.setEndpoint({ entity: 'sip:alice@x', displayText: 'Alice (local)' }, { entity: 'sip:alice@x;gr=1', status: 'connected', media: [] });
  // B's merged document: its own carol (tagged), an untagged dave (B's by default), alice's
  // second device at B, and entries B heard from C and from us (A) — not B's to report.
  const docB = remoteDoc(1, [
    ['sip:carol@x', 'sip:carol@x', B],
    ['sip:dave@x', 'sip:dave@x', undefined],
    ['sip:alice@x', 'sip:alice@x;gr=2', B],
    ['sip:erin@x', 'sip:erin@x', C],
    ['sip:alice@x', 'sip:alice@x;gr=1', A],
  ]);
  const rev0 = r.revision;
  const res = r.applyRemote(B, docB);
  t.equal(res.outcome, 'applied');
  t.equal(r.revision, rev0 + 1);
  t.same(r.remoteFoci(), [B]);
  t.equal(r.remoteVersion(B), 1);
  t.same(r.remoteEndpoints(B).map((e) => e.endpoint.entity).sort(), ['sip:alice@x;gr=2', 'sip:carol@x', 'sip:dave@x']);
  const m = r.merged();
  t.equal(m.state, 'full');
  t.same(m.description, { subject: 'Stand-up' });
  const users = new Map(m.users!.list.map((u) => [u.entity, u]));
  t.same([...users.keys()].sort(), ['sip:alice@x', 'sip:carol@x', 'sip:dave@x']);
  t.equal(users.get('sip:alice@x')!.displayText, 'Alice (local)', 'user fields from the local part first');
  t.same(
    users.get('sip:alice@x')!.endpoints.map((e) => [e.entity, e.focus?.entity]),
    [['sip:alice@x;gr=1', A], ['sip:alice@x;gr=2', B]],
    'one user, endpoints at two foci, each tagged',
  );
  t.same(users.get('sip:dave@x')!.endpoints[0]!.focus, { entity: B }, 'an untagged endpoint is tagged with the focus that reported it');
  t.strictSame(m.conferenceState, { userCount: 3, active: true, locked: false });

  // C reports erin itself.
  r.applyRemote(C, remoteDoc(5, [['sip:erin@x', 'sip:erin@x', C]]));
  t.ok(r.merged().users!.list.some((u) => u.entity === 'sip:erin@x'));
  // A partial from B that only touches a third focus' entry does not change the merged view.
  const rev = r.revision;
  const p = r.applyRemote(B, {
    entity: CONF,
    version: 2,
    state: 'partial',
    users: { state: 'partial', list: [{ entity: 'sip:erin@x', state: 'partial', endpoints: [{ entity: 'sip:erin@x', state: 'partial', status: 'on-hold', media: [] }] }] },
  });
  t.equal(p.outcome, 'applied');
  t.equal(r.revision, rev, 'B\'s hearsay about C changes nothing');
  t.equal(r.remoteVersion(B), 2);
  t.throws(() => r.applyRemote(A, docB), RangeError, 'the local focus is not a remote one');
});

t.test('remote version rules pass through: stale, gap, resync after a new dialog', async (t) => {
  const r = roster();
  t.equal(r.applyRemote(B, { ...remoteDoc(3, []), state: 'partial' }).outcome, 'resync', 'partial before any full state');
  t.equal(r.applyRemote(B, remoteDoc(3, [['sip:carol@x', 'sip:carol@x', B]])).outcome, 'applied');
  t.equal(r.applyRemote(B, remoteDoc(3, [])).outcome, 'stale');
  const gap = r.applyRemote(B, { entity: CONF, version: 6, state: 'partial' });
  t.equal(gap.outcome, 'resync');
  t.equal(r.remoteEndpoints(B).length, 1, 'state kept on a gap');
  r.resetRemoteVersion(B);
  t.equal(r.remoteEndpoints(B).length, 1, 'the old state stays until the new dialog\'s full document');
  t.equal(r.applyRemote(B, { entity: CONF, version: 1, state: 'partial' }).outcome, 'resync', 'a new dialog starts with full state');
  t.equal(r.applyRemote(B, remoteDoc(1, [['sip:carol@x', 'sip:carol@x', B], ['sip:dan@x', 'sip:dan@x', B]])).outcome, 'applied', 'a new dialog restarts at version 1');
  t.equal(r.applyRemote(B, { entity: CONF, version: 2, state: 'partial' }).outcome, 'applied', 'then partial documents again');
  t.equal(r.remoteEndpoints(B).length, 2);
  const del = r.applyRemote(B, { entity: CONF, version: 3, state: 'deleted' });
  t.equal(del.outcome, 'deleted');
  t.equal(r.remoteEndpoints(B).length, 0, 'deleted conference empties the focus\' part');
});

t.test('removing a failed focus returns its endpoints and drops them from the merged view', async (t) => {
  const r = roster();
  r.setEndpoint({ entity: 'sip:alice@x' }, { entity: 'sip:alice@x', status: 'connected', media: [] });
  r.applyRemote(B, remoteDoc(1, [['sip:carol@x', 'sip:carol@x', B], ['sip:alice@x', 'sip:alice@x;gr=2', B]]));
  r.applyRemote(C, remoteDoc(1, [['sip:erin@x', 'sip:erin@x', C]]));
  let changed = 0;
  r.on('changed', () => changed++);
  const gone = r.removeFocus(B);
  t.same(
    gone.map((g) => [g.user.entity, g.endpoint.entity, g.endpoint.focus?.entity]).sort(),
    [['sip:alice@x', 'sip:alice@x;gr=2', B], ['sip:carol@x', 'sip:carol@x', B]],
  );
  t.equal(gone[0]!.endpoint.state, 'full');
  t.equal(changed, 1);
  t.same(r.remoteFoci(), [C]);
  const m = r.merged();
  t.same(m.users!.list.map((u) => u.entity).sort(), ['sip:alice@x', 'sip:erin@x']);
  t.same(m.users!.list.find((u) => u.entity === 'sip:alice@x')!.endpoints.map((e) => e.entity), ['sip:alice@x']);
  t.same(r.removeFocus(B), [], 'unknown focus: nothing');
  t.equal(changed, 1);
});

t.test('snapshots and partial documents: a subscriber following the diffs sees the merged roster (200 random steps)', async (t) => {
  const rnd = new SeededRandom('roster-follow');
  const r = roster();
  let subscriberState: ConferenceInfo | undefined;
  let version = 1;
  let last = r.snapshot();
  const first = applyNotification(undefined, parseConferenceInfo(encodeConferenceInfo(r.fullDocument(version))));
  subscriberState = first.info;
  t.equal(first.outcome, 'applied');
  let partials = 0;
  let mismatches = 0;
  const users = ['sip:u0@x', 'sip:u1@x', 'sip:u2@x', 'sip:u3@x'];
  const remoteVersions = new Map<string, number>([[B, 0], [C, 0]]);
  for (let step = 0; step < 200; step++) {
    const roll = rnd.float();
    const user = users[rnd.int(users.length)]!;
    if (roll < 0.4) {
      const ep = randomEndpoint(rnd, `${user};d=${rnd.int(3)}`);
      r.setEndpoint({ entity: user, displayText: `U${rnd.int(3)}` }, ep);
    } else if (roll < 0.55) {
      const local = r.localEndpoints();
      const pick = local[rnd.int(Math.max(1, local.length))];
      if (pick) r.removeEndpoint(pick.user.entity, pick.endpoint.entity);
    } else if (roll < 0.85) {
      const focus = rnd.float() < 0.5 ? B : C;
      const v = remoteVersions.get(focus)! + 1;
      remoteVersions.set(focus, v);
      const n = rnd.int(3);
      const entries: Array<[string, string, string | undefined]> = [];
      for (let i = 0; i < n; i++) entries.push([users[rnd.int(users.length)]!, `sip:r${i}-${focus.slice(-6)}@x`, focus]);
      r.applyRemote(focus, remoteDoc(v, entries));
    } else if (roll < 0.9) {
      r.removeFocus(rnd.float() < 0.5 ? B : C);
    } else {
      r.setLocked(rnd.float() < 0.5);
    }
    if (rnd.float() < 0.5) continue; // several changes coalesce into one NOTIFY
    const doc = r.partialDocument(last, version + 1);
    if (!doc) {
      t.equal(r.snapshot().info.users?.list.length, last.info.users?.list.length, `step ${step}: no document only without change`);
      continue;
    }
    version++;
    last = r.snapshot();
    partials++;
    const applied = applyNotification(subscriberState, parseConferenceInfo(encodeConferenceInfo(doc)));
    t.equal(applied.outcome, 'applied');
    subscriberState = applied.info;
    const expected = { ...r.merged(), version };
    if (!isDeepStrictEqual(canonicalConferenceInfo(subscriberState!), canonicalConferenceInfo(expected))) {
      mismatches++;
      if (mismatches < 3) t.strictSame(canonicalConferenceInfo(subscriberState!), canonicalConferenceInfo(expected), `step ${step}`);
    }
  }
  t.equal(mismatches, 0, 'the subscriber\'s state equals the merged roster after every NOTIFY');
  t.ok(partials > 60, `${partials} partial documents`);
  t.equal(r.partialDocument(r.snapshot(), 999), undefined, 'nothing new since the current snapshot');
  t.equal(r.snapshot(), r.snapshot(), 'the snapshot is cached between changes');
});
