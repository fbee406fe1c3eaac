/**
 * The conference-info document (RFC 4575 §5): the digest's example documents parsed
 * structurally, the encoder's exact output, strict parse errors, the §4.6 merge with its
 * version rules, and seeded property tests (encode → parse round trip; diff → apply
 * reproduces the target state).
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { SeededRandom } from '../../../src/common/random.js';
import {
  CONFERENCE_INFO_NS,
  type ConferenceInfo,
  ConferenceInfoError,
  DISCO_INFO_NS,
  applyNotification,
  canonicalConferenceInfo,
  diffConferenceInfo,
  encodeConferenceInfo,
  parseConferenceInfo,
} from '../../../usages/sdcon/conference-info.js';
import { EXAMPLE_FULL, EXAMPLE_PARTIAL, mutateConferenceInfo, randomConferenceInfo } from './fixtures.js';

t.test('the digest full-state example parses into the model', async (t) => {
  const info = parseConferenceInfo(EXAMPLE_FULL);
  t.equal(info.entity, 'sip:standup-conf-alice@dht.example.org');
  t.equal(info.version, 1);
  t.equal(info.state, 'full');
  t.same(info.description, {
    subject: 'Daily stand-up',
    confUris: [{ uri: 'sip:standup-conf-alice@dht.example.org', purpose: 'participation' }],
    availableMedia: [{ label: 'a1', type: 'audio', status: 'sendrecv' }],
  });
  t.strictSame(info.conferenceState, { userCount: 2, active: true, locked: false });
  t.equal(info.users?.state, 'full');
  t.equal(info.users?.list.length, 2);
  const [alice, bob] = info.users!.list;
  t.strictSame(alice, {
    entity: 'sip:alice@dht.example.org',
    state: 'full',
    displayText: 'Alice',
    endpoints: [
      {
        entity: 'sip:alice@dht.example.org;gr=QUxJQ0U~',
        state: 'full',
        status: 'connected',
        joiningMethod: 'focus-owner',
        media: [{ id: '1', type: 'audio', label: 'a1', status: 'sendrecv' }],
      },
    ],
  });
  t.equal(bob!.endpoints[0]!.joiningMethod, 'dialed-in');
  t.strictSame(bob!.endpoints[0]!.media, [{ id: '2', type: 'audio', status: 'sendrecv' }]);
  // Bytes in, same result.
  t.strictSame(parseConferenceInfo(new TextEncoder().encode(EXAMPLE_FULL)), info);
});

t.test('the digest partial example applies with RFC 4575 §4.6 semantics; a later delete removes Bob', async (t) => {
  const full = parseConferenceInfo(EXAMPLE_FULL);
  const partial = parseConferenceInfo(EXAMPLE_PARTIAL);
  t.equal(partial.state, 'partial');
  t.equal(partial.users?.state, 'partial');
  t.equal(partial.users?.list[0]?.state, 'partial');
  t.equal(partial.users?.list[0]?.endpoints[0]?.state, 'partial');
  t.strictSame(partial.users?.list[0]?.endpoints[0]?.media, [], 'a partial endpoint that lists no media changes none');

  const r = applyNotification(full, partial);
  t.equal(r.outcome, 'applied');
  const now = r.info!;
  t.equal(now.version, 2);
  t.equal(now.state, 'full');
  t.strictSame(now.conferenceState, { userCount: 1, active: true, locked: false }, 'atomic element replaced');
  t.same(now.description, full.description, 'elements not in the partial document are kept');
  const bob = now.users!.list.find((u) => u.entity === 'sip:bob@dht.example.org')!;
  t.equal(bob.displayText, 'Bob', 'partial user keeps the children it does not mention');
  const ep = bob.endpoints[0]!;
  t.equal(ep.status, 'disconnected');
  t.equal(ep.disconnectionMethod, 'departed');
  t.equal(ep.joiningMethod, 'dialed-in', 'partial endpoint keeps unmentioned children');
  t.strictSame(ep.media, [{ id: '2', type: 'audio', status: 'sendrecv' }]);
  t.equal(ep.state, 'full');
  t.same(full.users!.list[1]!.endpoints[0]!.status, 'connected', 'the input state is not modified');

  const del = parseConferenceInfo(
    `<conference-info xmlns="${CONFERENCE_INFO_NS}" entity="sip:standup-conf-alice@dht.example.org" state="partial" version="3">` +
      `<users state="partial"><user entity="sip:bob@dht.example.org" state="deleted"/></users></conference-info>`,
  );
  const r3 = applyNotification(now, del);
  t.equal(r3.outcome, 'applied');
  t.same(r3.info!.users!.list.map((u) => u.entity), ['sip:alice@dht.example.org']);
});

t.test('version rules: stale documents are discarded, gaps and partial-first ask for full state, deleted', async (t) => {
  const full = parseConferenceInfo(EXAMPLE_FULL);
  const partial = parseConferenceInfo(EXAMPLE_PARTIAL);
  const first = applyNotification(undefined, partial);
  t.same(first, { outcome: 'resync', reason: 'no-full-state', info: undefined });
  const v2 = applyNotification(full, partial).info!;
  t.same(applyNotification(v2, partial), { outcome: 'stale', info: v2 }, 'same version again is discarded');
  t.equal(applyNotification(v2, { ...full, version: 1 }).outcome, 'stale', 'an older full document is discarded');
  const gap = applyNotification(full, { ...partial, version: 3 });
  t.equal(gap.outcome, 'resync');
  t.equal(gap.outcome === 'resync' && gap.reason, 'gap');
  t.equal(gap.info, full, 'state unchanged on a gap');
  const jump = applyNotification(full, { ...full, version: 9 });
  t.equal(jump.outcome, 'applied', 'a full document may jump versions');
  t.equal(jump.info!.version, 9);
  const gone = applyNotification(full, { entity: full.entity, version: 2, state: 'deleted' });
  t.equal(gone.outcome, 'deleted');
  t.equal(gone.info!.users, undefined);
  t.equal(gone.info!.version, 2);
  const usersFull = applyNotification(full, {
    entity: full.entity,
    version: 2,
    state: 'partial',
    users: { state: 'full', list: [{ entity: 'sip:carol@x', state: 'full', endpoints: [] }] },
  });
  t.same(usersFull.info!.users!.list.map((u) => u.entity), ['sip:carol@x'], 'a full <users> flushes and repopulates');
  const usersDeleted = applyNotification(full, { entity: full.entity, version: 2, state: 'partial', users: { state: 'deleted', list: [] } });
  t.equal(usersDeleted.info!.users, undefined);
  const newUserPartial = applyNotification(full, {
    entity: full.entity,
    version: 2,
    state: 'partial',
    users: { state: 'partial', list: [{ entity: 'sip:dave@x', state: 'partial', displayText: 'Dave', endpoints: [] }] },
  });
  t.same(newUserPartial.info!.users!.list.at(-1), { entity: 'sip:dave@x', state: 'full', displayText: 'Dave', endpoints: [] }, 'unknown key in a partial element: row added');
});

t.test('the encoder writes the schema order, escapes text and attributes, and binds the DisCo namespace only when used', async (t) => {
  const info: ConferenceInfo = {
    entity: 'sip:conf@example.org?a=1&b="2"',
    version: 7,
    state: 'full',
    description: { subject: 'Q&A <live> ]]>', keywords: ['one', 'two'], maximumUserCount: 10 },
    conferenceState: { userCount: 1, active: true },
    users: {
      state: 'full',
      list: [
        {
          entity: 'sip:a@example.org',
          state: 'full',
          displayText: 'Ann "the focus" O\'Neil\r\n',
          endpoints: [
            {
              entity: 'sip:a@example.org;gr=x',
              state: 'full',
              status: 'connected',
              media: [{ id: '1', type: 'audio', srcId: '42' }],
              focus: { entity: 'sip:conf@10.0.0.1;gr=f1', nodeId: '00ff' },
            },
          ],
        },
      ],
    },
  };
  const expected =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:disco="${DISCO_INFO_NS}" entity="sip:conf@example.org?a=1&amp;b=&quot;2&quot;" state="full" version="7">\n` +
    '  <conference-description>\n' +
    '    <subject>Q&amp;A &lt;live&gt; ]]&gt;</subject>\n' +
    '    <keywords>one two</keywords>\n' +
    '    <maximum-user-count>10</maximum-user-count>\n' +
    '  </conference-description>\n' +
    '  <conference-state>\n' +
    '    <user-count>1</user-count>\n' +
    '    <active>true</active>\n' +
    '  </conference-state>\n' +
    '  <users>\n' +
    '    <user entity="sip:a@example.org" state="full">\n' +
    '      <display-text>Ann "the focus" O\'Neil&#13;\n</display-text>\n' +
    '      <endpoint entity="sip:a@example.org;gr=x" state="full">\n' +
    '        <status>connected</status>\n' +
    '        <media id="1">\n' +
    '          <type>audio</type>\n' +
    '          <src-id>42</src-id>\n' +
    '        </media>\n' +
    '        <disco:focus entity="sip:conf@10.0.0.1;gr=f1" node-id="00ff"/>\n' +
    '      </endpoint>\n' +
    '    </user>\n' +
    '  </users>\n' +
    '</conference-info>\n';
  const xml = encodeConferenceInfo(info);
  t.equal(xml, expected);
  t.strictSame(parseConferenceInfo(xml), info, 'and it parses back to the same model (CR kept)');
  const compact = encodeConferenceInfo(info, { pretty: false });
  t.notOk(/>\s+</.test(compact.slice(compact.indexOf('?>') + 2)), 'compact form has no indentation');
  t.strictSame(parseConferenceInfo(compact), info);
  const plain = encodeConferenceInfo({ entity: 'sip:c@x', version: 0, state: 'partial', users: { state: 'partial', list: [] } });
  t.notMatch(plain, /xmlns:disco/, 'no extension namespace when no endpoint carries a focus');
  t.match(plain, /<users state="partial"\/>/);
  t.throws(() => encodeConferenceInfo({ entity: 'sip:c@x', version: 2 ** 32, state: 'full' }), ConferenceInfoError);
  t.throws(() => encodeConferenceInfo({ entity: ' ', version: 1, state: 'full' }), ConferenceInfoError);
});

t.test('the digest examples survive encode → parse', async (t) => {
  for (const src of [EXAMPLE_FULL, EXAMPLE_PARTIAL]) {
    const a = parseConferenceInfo(src);
    t.strictSame(parseConferenceInfo(encodeConferenceInfo(a)), a);
  }
});

t.test('foreign-namespace elements and attributes are ignored, the DisCo extension is read under any prefix', async (t) => {
  const xml =
    `<ci:conference-info xmlns:ci="${CONFERENCE_INFO_NS}" xmlns:x="urn:other" xmlns:d="${DISCO_INFO_NS}" entity="sip:c@x" version="4" x:extra="1">` +
    `<x:custom><ci:users/></x:custom>` +
    `<ci:users><ci:user entity="sip:u@x"><x:note>hi</x:note><ci:endpoint entity="sip:u@x;e=1">` +
    `<ci:status>on-hold</ci:status><d:focus entity="sip:f@x" node-id="ABCD"/><x:focus entity="ignored"/></ci:endpoint></ci:user></ci:users>` +
    `<ci:sidebars-by-ref><ci:entry><ci:uri>sip:side@x</ci:uri></ci:entry></ci:sidebars-by-ref>` +
    `</ci:conference-info>`;
  const info = parseConferenceInfo(xml);
  t.equal(info.state, 'full', 'state defaults to full');
  t.strictSame(info.users, {
    state: 'full',
    list: [
      {
        entity: 'sip:u@x',
        state: 'full',
        endpoints: [{ entity: 'sip:u@x;e=1', state: 'full', status: 'on-hold', media: [], focus: { entity: 'sip:f@x', nodeId: 'abcd' } }],
      },
    ],
  });
});

t.test('strict parsing: typed errors naming the element', async (t) => {
  const wrap = (inner: string, rootAttrs = 'entity="sip:c@x" version="1"'): string =>
    `<conference-info xmlns="${CONFERENCE_INFO_NS}" ${rootAttrs}>${inner}</conference-info>`;
  const cases: Array<[string, string | Uint8Array, string, string | undefined]> = [
    ['wrong root element', `<conference xmlns="${CONFERENCE_INFO_NS}" entity="sip:c@x" version="1"/>`, 'root', 'conference'],
    ['wrong namespace', `<conference-info xmlns="urn:ietf:params:xml:ns:dialog-info" entity="sip:c@x" version="1"/>`, 'root', 'conference-info'],
    ['no namespace', `<conference-info entity="sip:c@x" version="1"/>`, 'root', 'conference-info'],
    ['missing entity', wrap('', 'version="1"'), 'missing', 'conference-info'],
    ['missing version', wrap('', 'entity="sip:c@x"'), 'missing', 'conference-info'],
    ['bad version', wrap('', 'entity="sip:c@x" version="-1"'), 'value', 'conference-info'],
    ['version too large', wrap('', 'entity="sip:c@x" version="4294967296"'), 'value', 'conference-info'],
    ['bad state', wrap('', 'entity="sip:c@x" version="1" state="some"'), 'value', 'conference-info'],
    ['user without entity', wrap('<users><user/></users>'), 'missing', 'user'],
    ['endpoint without entity', wrap('<users><user entity="sip:u@x"><endpoint/></user></users>'), 'missing', 'endpoint'],
    ['media without id', wrap('<users><user entity="sip:u@x"><endpoint entity="e"><media/></endpoint></user></users>'), 'missing', 'media'],
    ['bad endpoint status', wrap('<users><user entity="sip:u@x"><endpoint entity="e"><status>online</status></endpoint></user></users>'), 'value', 'status'],
    ['bad joining-method', wrap('<users><user entity="sip:u@x"><endpoint entity="e"><joining-method>walked-in</joining-method></endpoint></user></users>'), 'value', 'joining-method'],
    ['bad disconnection-method', wrap('<users><user entity="sip:u@x"><endpoint entity="e"><disconnection-method>x</disconnection-method></endpoint></user></users>'), 'value', 'disconnection-method'],
    ['bad media status', wrap('<users><user entity="sip:u@x"><endpoint entity="e"><media id="1"><status>both</status></media></endpoint></user></users>'), 'value', 'status'],
    ['bad user state', wrap('<users><user entity="sip:u@x" state="gone"/></users>'), 'value', 'user'],
    ['bad boolean', wrap('<conference-state><active>yes</active></conference-state>'), 'value', 'active'],
    ['bad user-count', wrap('<conference-state><user-count>many</user-count></conference-state>'), 'value', 'user-count'],
    ['duplicate single element', wrap('<conference-state/><conference-state/>'), 'structure', 'conference-state'],
    ['duplicate user key', wrap('<users><user entity="sip:u@x"/><user entity="sip:u@x"/></users>'), 'structure', 'user'],
    ['duplicate media id', wrap('<users><user entity="u"><endpoint entity="e"><media id="1"/><media id="1"/></endpoint></user></users>'), 'structure', 'media'],
    ['text inside a structured element', wrap('<users>stray</users>'), 'structure', 'users'],
    ['child element in a text element', wrap('<conference-description><subject><b/></subject></conference-description>'), 'structure', 'subject'],
    ['conf-uris entry without uri', wrap('<conference-description><conf-uris><entry/></conf-uris></conference-description>'), 'missing', 'entry'],
    ['available-media entry without label', wrap('<conference-description><available-media><entry/></available-media></conference-description>'), 'missing', 'entry'],
    ['call-info without call-id', wrap('<users><user entity="u"><endpoint entity="e"><call-info><sip><from-tag>a</from-tag><to-tag>b</to-tag></sip></call-info></endpoint></user></users>'), 'missing', 'sip'],
    ['bad when', wrap('<users><user entity="u"><endpoint entity="e"><joining-info><when>yesterday</when></joining-info></endpoint></user></users>'), 'value', 'when'],
    ['bad language', wrap('<users><user entity="u"><languages>en_GB</languages></user></users>'), 'value', 'languages'],
    ['DisCo focus without entity', wrap(`<users><user entity="u"><endpoint entity="e"><d:focus xmlns:d="${DISCO_INFO_NS}"/></endpoint></user></users>`), 'missing', 'focus'],
    ['DisCo focus with a bad node-id', wrap(`<users><user entity="u"><endpoint entity="e"><d:focus xmlns:d="${DISCO_INFO_NS}" entity="f" node-id="xyz"/></endpoint></user></users>`), 'value', 'focus'],
    ['not well-formed', `<conference-info xmlns="${CONFERENCE_INFO_NS}" entity="sip:c@x" version="1">`, 'xml', undefined],
    ['DOCTYPE refused', `<!DOCTYPE x [<!ENTITY a "b">]>${wrap('')}`, 'xml', undefined],
    ['invalid UTF-8', new Uint8Array([0x3c, 0xff, 0xfe, 0x3e]), 'xml', undefined],
    ['empty document', '', 'xml', undefined],
  ];
  for (const [name, input, reason, element] of cases) {
    try {
      parseConferenceInfo(input);
      t.fail(`${name}: parsed`);
    } catch (e) {
      t.ok(e instanceof ConferenceInfoError, `${name}: ConferenceInfoError`);
      const err = e as ConferenceInfoError;
      t.equal(err.reason, reason, `${name}: reason`);
      t.equal(err.element, element, `${name}: element`);
      t.equal(err.code, 'ERR_CONFERENCE_INFO');
    }
  }
  const big = wrap(`<conference-description><subject>${'x'.repeat(2000)}</subject></conference-description>`);
  t.throws(() => parseConferenceInfo(big, { maxBytes: 1000 }), { name: 'ConferenceInfoError', reason: 'too_large' });
  t.throws(() => parseConferenceInfo(new TextEncoder().encode(big), { maxBytes: 1000 }), { name: 'ConferenceInfoError', reason: 'too_large' });
  t.doesNotThrow(() => parseConferenceInfo(big));
  const deep = wrap(`<users>${'<x:a xmlns:x="urn:x">'.repeat(40)}${'</x:a>'.repeat(40)}</users>`);
  t.throws(() => parseConferenceInfo(deep), { name: 'ConferenceInfoError', reason: 'xml' }, 'nesting depth is bounded');
});

t.test('property: random conference states survive encode → parse unchanged (400 seeds)', async (t) => {
  let failures = 0;
  for (let seed = 0; seed < 400; seed++) {
    const r = new SeededRandom(`roundtrip-${seed}`);
    const info = randomConferenceInfo(r, 1 + r.int(1000), ['sip:f1@x', 'sip:f2@x']);
    for (const pretty of [true, false]) {
      const back = parseConferenceInfo(encodeConferenceInfo(info, { pretty }));
      if (!isDeepStrictEqual(back, info)) {
        failures++;
        if (failures < 3) t.strictSame(back, info, `seed ${seed} pretty=${pretty}`);
      }
    }
  }
  t.equal(failures, 0, 'every random state round-trips');
});

t.test('property: applying diff(from, to) to from gives to, also through the XML (400 seeds)', async (t) => {
  let failures = 0;
  let partialUsers = 0;
  let fullUsers = 0;
  let deletedUsers = 0;
  for (let seed = 0; seed < 400; seed++) {
    const r = new SeededRandom(`diff-${seed}`);
    const from = randomConferenceInfo(r, 10, ['sip:f1@x']);
    const to = mutateConferenceInfo(r, from, ['sip:f1@x']);
    const diff = diffConferenceInfo(from, to, from.version + 1);
    if (!diff) {
      t.strictSame(canonicalConferenceInfo({ ...to, version: from.version }), canonicalConferenceInfo(from), `seed ${seed}: no diff only when equal`);
      continue;
    }
    for (const u of diff.users?.list ?? []) {
      if (u.state === 'partial') partialUsers++;
      else if (u.state === 'full') fullUsers++;
      else deletedUsers++;
    }
    const viaXml = parseConferenceInfo(encodeConferenceInfo(diff));
    for (const d of [diff, viaXml]) {
      const applied = applyNotification(from, d);
      const ok = applied.outcome === 'applied' && isDeepStrictEqual(canonicalConferenceInfo(applied.info), canonicalConferenceInfo(to));
      if (!ok) {
        failures++;
        if (failures < 3) t.strictSame(applied.info && canonicalConferenceInfo(applied.info), canonicalConferenceInfo(to), `seed ${seed}`);
      }
    }
  }
  t.equal(failures, 0, 'every diff reproduces the target');
  t.ok(partialUsers > 50 && fullUsers > 50 && deletedUsers > 50, `all three user states exercised (${partialUsers}/${fullUsers}/${deletedUsers})`);
  t.equal(diffConferenceInfo(parseConferenceInfo(EXAMPLE_FULL), parseConferenceInfo(EXAMPLE_FULL), 2), undefined, 'no change, no document');
});
