/**
 * Signed configuration documents (RFC 6940 §11.1; src/config/signature.ts, write.ts):
 * signatures over the exact bytes, tamper detection, who may sign, sequence rules,
 * kind-signatures, and byte-for-byte preservation of foreign elements.
 */
import t from 'tap';
import { Buffer } from 'node:buffer';
import { createOverlayCA } from '../../certs/ca.js';
import { ConfigurationError } from '../../src/config/errors.js';
import { parseOverlayDocument } from '../../src/config/parse.js';
import { loadConfiguration, signConfigurationBytes, verifyKindBlock } from '../../src/config/signature.js';
import { type KindDefinition, type OverlayConfiguration, defaultConfiguration } from '../../src/config/types.js';
import { writeOverlayDocument } from '../../src/config/write.js';
import { fromUtf8, toHex, utf8 } from '../../src/wire/codec.js';
import { makeOperator } from '../certs/helpers.js';

const OVERLAY = 'overlay.example.org';
const op = makeOperator(OVERLAY);
const NOW = Date.now();

const sipKind: KindDefinition = {
  name: 'SIP-REGISTRATION',
  id: 1,
  dataModel: 'DICTIONARY',
  accessControl: 'USER-NODE-MATCH',
  maxCount: 4,
  maxSize: 1024,
  sipDomainRestriction: { enable: true, patterns: ['.*\\.example\\.org'] },
  extensions: [],
  extensionAttributes: [],
};
const shareKind: KindDefinition = {
  id: 0xf0000010,
  dataModel: 'ARRAY',
  accessControl: 'USER-CHAIN-ACL',
  maxCount: 16,
  maxSize: 256,
  shareVariableResourceNames: { enable: true, patterns: ['$USER-.*@$DOMAIN'] },
  extensions: [],
  extensionAttributes: [],
};

function config(overrides: Partial<OverlayConfiguration> = {}): OverlayConfiguration {
  return defaultConfiguration(OVERLAY, {
    sequence: 10,
    expiration: NOW + 86_400_000,
    rootCerts: [op.ca.certificate],
    enrollmentServers: ['https://127.0.0.1:6084/enroll'],
    configurationSigners: [op.credentials.nodeId],
    kindSigners: [op.credentials.nodeId],
    requiredKinds: [sipKind, shareKind],
    landmarks: [{ address: '192.0.2.7', port: 7000 }, { address: '192.0.2.8', port: 7001, transport: 'udp' }],
    ...overrides,
  });
}

t.test('a written document verifies and reads back the same values', async (t) => {
  const bytes = writeOverlayDocument({ configuration: config(), signer: op.signer });
  const v = loadConfiguration(bytes, { now: NOW });
  t.equal(toHex(v.signer.nodeId), toHex(op.credentials.nodeId));
  t.equal(v.kindSigners.length, 2);
  const c = v.configuration;
  t.equal(c.sequence, 10);
  t.equal(c.expiration, NOW + 86_400_000, 'expiration keeps its milliseconds');
  t.same(c.rootCerts, [op.ca.certificate]);
  t.same(c.requiredKinds[0]!.sipDomainRestriction, sipKind.sipDomainRestriction);
  t.same(c.requiredKinds[1]!.shareVariableResourceNames, shareKind.shareVariableResourceNames);
  t.same(c.landmarks, [{ address: '192.0.2.7', port: 7000 }, { address: '192.0.2.8', port: 7001, transport: 'udp' }], 'a landmark transport round-trips');
  t.same(v.document.bytes, bytes);
  const text = fromUtf8(bytes);
  t.match(text, /<configuration xmlns="urn:ietf:params:xml:ns:p2p:config-base" xmlns:chord="urn:ietf:params:xml:ns:p2p:config-chord" xmlns:lm="urn:reload-node:params:xml:ns:landmarks" instance-name="overlay.example.org" sequence="10"/);
  t.match(text, /<kind xmlns:sip="urn:ietf:params:xml:ns:p2p:config-base:sip" name="SIP-REGISTRATION">/, 'a kind declares the extension namespace it uses');
});

t.test('any byte changed inside <configuration> is refused', async (t) => {
  const bytes = writeOverlayDocument({ configuration: config(), signer: op.signer });
  const text = fromUtf8(bytes);
  const start = text.indexOf('<configuration');
  const end = text.indexOf('</configuration>') + '</configuration>'.length;

  // A change that keeps the document well-formed and valid: only the signature notices.
  const changed = text.replace('<max-message-size>5000</max-message-size>', '<max-message-size>5001</max-message-size>');
  t.throws(() => loadConfiguration(changed, { now: NOW }), {
    name: 'ConfigurationError',
    reason: 'bad_signature',
    message: /signature does not verify over the signed bytes \(the text was changed after signing\)/,
  });
  const spaced = text.replace('<initial-ttl>', ' <initial-ttl>');
  t.throws(() => loadConfiguration(spaced, { now: NOW }), { name: 'ConfigurationError', reason: 'bad_signature' }, 'even whitespace is signed');

  // Every position: substitute one ASCII byte. Each variant is refused with a ConfigurationError.
  let seed = 3;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const reasons = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const at = start + rnd(end - start);
    const old = text[at]!;
    let repl = String.fromCharCode(0x21 + rnd(94));
    if (repl === old) repl = old === 'a' ? 'b' : 'a';
    const variant = text.slice(0, at) + repl + text.slice(at + 1);
    try {
      loadConfiguration(variant, { now: NOW });
      t.fail(`changing ${JSON.stringify(old)} at ${at} to ${JSON.stringify(repl)} was accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigurationError, 'typed error');
      const r = (err as ConfigurationError).reason;
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
  }
  t.ok((reasons.get('bad_signature') ?? 0) > 0, `reasons seen: ${JSON.stringify([...reasons])}`);
});

t.test('changes outside <configuration> are not covered (the RFC signs the element only)', async (t) => {
  const text = fromUtf8(writeOverlayDocument({ configuration: config(), signer: op.signer }));
  const v = loadConfiguration(text.replace('<overlay ', '<!-- outside -->\n<overlay '), { now: NOW });
  t.equal(v.configuration.sequence, 10);
});

t.test('who may sign: listed configuration-signer chaining to a root-cert', async (t) => {
  // Unsigned.
  const unsigned = writeOverlayDocument({ configuration: config() });
  t.throws(() => loadConfiguration(unsigned, { now: NOW }), { name: 'ConfigurationError', reason: 'unsigned' });

  // Signed by a certified identity that is not listed.
  const other = makeOperator(OVERLAY, new Uint8Array(16).fill(7), 'mallory@example.org', op.ca);
  const notListed = writeOverlayDocument({ configuration: config(), signer: other.signer, kindSigner: op.signer });
  t.throws(() => loadConfiguration(notListed, { now: NOW }), {
    name: 'ConfigurationError',
    reason: 'not_a_signer',
    message: `signed by Node-ID ${'07'.repeat(16)}, which is not a configuration-signer`,
  });

  // Signed by an identity from another CA, even one that lists itself.
  const foreign = makeOperator(OVERLAY, new Uint8Array(16).fill(9));
  const foreignDoc = writeOverlayDocument({
    configuration: config({ configurationSigners: [foreign.credentials.nodeId] }),
    signer: foreign.signer,
    kindSigner: op.signer,
  });
  t.throws(() => loadConfiguration(foreignDoc, { now: NOW }), { name: 'ConfigurationError', reason: 'untrusted_signer', message: /does not chain to a trusted root/ });
  // ... but with its own root-cert in the document it verifies on first load, and pinned roots refuse it.
  const selfRooted = writeOverlayDocument({
    configuration: config({ rootCerts: [foreign.ca.certificate], configurationSigners: [foreign.credentials.nodeId], kindSigners: [foreign.credentials.nodeId] }),
    signer: foreign.signer,
  });
  t.equal(loadConfiguration(selfRooted, { now: NOW }).configuration.sequence, 10);
  t.throws(() => loadConfiguration(selfRooted, { now: NOW, trustedRoots: [op.ca.certificate] }), { name: 'ConfigurationError', reason: 'untrusted_signer' });

  // A signature that is not a SecurityBlock.
  const garbage = fromUtf8(writeOverlayDocument({ configuration: config(), signer: op.signer })).replace(/<signature>[^<]+<\/signature>/, '<signature>QUJDRA==</signature>');
  t.throws(() => loadConfiguration(garbage, { now: NOW }), { name: 'ConfigurationError', reason: 'bad_signature', message: /signature is not a SecurityBlock/ });

  // A signer whose Node-ID is a bad-node.
  const bad = writeOverlayDocument({ configuration: config({ badNodes: [op.credentials.nodeId] }), signer: op.signer });
  t.throws(() => loadConfiguration(bad, { now: NOW }), { name: 'ConfigurationError', reason: 'untrusted_signer', message: /bad-node/ });
});

t.test('a new document must come from a signer of the current one and carry a newer sequence', async (t) => {
  const current = loadConfiguration(writeOverlayDocument({ configuration: config(), signer: op.signer }), { now: NOW }).configuration;
  const next = writeOverlayDocument({ configuration: config({ sequence: 11 }), signer: op.signer });
  t.equal(loadConfiguration(next, { now: NOW, previous: current }).configuration.sequence, 11);
  const same = writeOverlayDocument({ configuration: config({ sequence: 10 }), signer: op.signer });
  t.throws(() => loadConfiguration(same, { now: NOW, previous: current }), {
    name: 'ConfigurationError',
    reason: 'sequence',
    message: 'configuration sequence 10 is not newer than the current 10',
  });
  const older = writeOverlayDocument({ configuration: config({ sequence: 9 }), signer: op.signer });
  t.throws(() => loadConfiguration(older, { now: NOW, previous: current }), { name: 'ConfigurationError', reason: 'sequence' });

  // Wrap-around: 65534 → 0.
  const high = loadConfiguration(writeOverlayDocument({ configuration: config({ sequence: 65534 }), signer: op.signer }), { now: NOW }).configuration;
  const wrapped = writeOverlayDocument({ configuration: config({ sequence: 0 }), signer: op.signer });
  t.equal(loadConfiguration(wrapped, { now: NOW, previous: high }).configuration.sequence, 0);

  // A newcomer that lists itself is not enough: the current document's signers decide.
  const rogue = makeOperator(OVERLAY, new Uint8Array(16).fill(5), 'rogue@example.org', op.ca);
  const takeover = writeOverlayDocument({
    configuration: config({ sequence: 12, configurationSigners: [rogue.credentials.nodeId], kindSigners: [rogue.credentials.nodeId] }),
    signer: rogue.signer,
  });
  t.equal(loadConfiguration(takeover, { now: NOW }).configuration.sequence, 12, 'first load trusts the document');
  t.throws(() => loadConfiguration(takeover, { now: NOW, previous: current }), { name: 'ConfigurationError', reason: 'not_a_signer' });

  // Another overlay's document is not an update.
  const otherOp = makeOperator('other.example.org');
  const otherOverlay = loadConfiguration(
    writeOverlayDocument({
      configuration: defaultConfiguration('other.example.org', { rootCerts: [otherOp.ca.certificate], configurationSigners: [otherOp.credentials.nodeId] }),
      signer: otherOp.signer,
    }),
    { now: NOW },
  );
  t.throws(() => loadConfiguration(next, { now: NOW, previous: otherOverlay.configuration }), { name: 'ConfigurationError', reason: 'instance_name' });
});

t.test('an expired document is refused unless allowed', async (t) => {
  const bytes = writeOverlayDocument({ configuration: config({ expiration: NOW - 1000 }), signer: op.signer });
  t.throws(() => loadConfiguration(bytes, { now: NOW }), { name: 'ConfigurationError', reason: 'expired' });
  t.equal(loadConfiguration(bytes, { now: NOW, allowExpired: true }).configuration.sequence, 10);
});

t.test('kind-signatures: present, over the exact <kind> text, by a kind-signer', async (t) => {
  const kindOp = makeOperator(OVERLAY, new Uint8Array(16).fill(0x33), 'kinds@example.org', op.ca);
  const bytes = writeOverlayDocument({
    configuration: config({ kindSigners: [kindOp.credentials.nodeId] }),
    signer: op.signer,
    kindSigner: kindOp.signer,
  });
  const v = loadConfiguration(bytes, { now: NOW });
  t.same(v.kindSigners.map((s) => toHex(s.nodeId)), [toHex(kindOp.credentials.nodeId), toHex(kindOp.credentials.nodeId)]);
  // The configuration signer is not a kind-signer here.
  const wrongKindSigner = writeOverlayDocument({ configuration: config({ kindSigners: [kindOp.credentials.nodeId] }), signer: op.signer });
  t.throws(() => loadConfiguration(wrongKindSigner, { now: NOW }), { name: 'ConfigurationError', reason: 'kind_signature', message: /which is not a kind-signer/ });

  // A standalone kind-block verifies against the configuration, and not once changed.
  const block = v.parsed.kindBlocks[1]!;
  t.equal(toHex(verifyKindBlock(block, v.configuration, NOW).nodeId), toHex(kindOp.credentials.nodeId));
  const changed = { ...block, kindXml: block.kindXml.replace('<max-count>16</max-count>', '<max-count>17</max-count>') };
  t.throws(() => verifyKindBlock(changed, v.configuration, NOW), { name: 'ConfigurationError', reason: 'kind_signature', message: /changed after signing/ });
  t.throws(() => verifyKindBlock({ ...block, signatureBase64: undefined }, v.configuration, NOW), { name: 'ConfigurationError', reason: 'kind_signature', message: /is not signed/ });

  // A document whose kind-block lacks its kind-signature is refused even if the configuration is signed.
  const unsignedKinds = fromUtf8(bytes);
  const configXml = unsignedKinds.slice(unsignedKinds.indexOf('<configuration'), unsignedKinds.indexOf('</configuration>') + 16);
  const stripped = configXml.replace(/\n\s*<kind-signature>[^<]*<\/kind-signature>/g, '');
  const resigned = `<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base">${stripped}<signature>${signConfigurationBytes(utf8(stripped), op.signer)}</signature></overlay>`;
  t.throws(() => loadConfiguration(resigned, { now: NOW }), { name: 'ConfigurationError', reason: 'kind_signature', message: 'kind SIP-REGISTRATION is not signed' });
});

t.test('foreign elements and attributes survive byte for byte', async (t) => {
  // A hand-written document with CRLF line ends, comments, single quotes, entities and
  // foreign markup, signed over its exact bytes.
  const ca = op.ca;
  const body = [
    `<configuration xmlns='urn:ietf:params:xml:ns:p2p:config-base' xmlns:x="urn:example:x" instance-name='${OVERLAY}' sequence="3" x:mood="calm">`,
    '  <!-- a comment the signature covers -->',
    `  <root-cert>${Buffer.from(ca.certificate).toString('base64')}</root-cert>`,
    `  <configuration-signer>${toHex(op.credentials.nodeId)}</configuration-signer>`,
    `  <kind-signer>${toHex(op.credentials.nodeId)}</kind-signer>`,
    '  <x:gadget  a="1&amp;2"   b=\'q\'>  <x:inner>text &lt; more</x:inner>\t</x:gadget>',
    '  <unknown-base-element>kept</unknown-base-element>',
    '</configuration>',
  ].join('\r\n');
  const signature = signConfigurationBytes(utf8(body), op.signer);
  const doc = `<?xml version="1.0" encoding="UTF-8"?>\r\n<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base">\r\n${body}\r\n<signature>${signature}</signature>\r\n</overlay>\r\n`;
  const v = loadConfiguration(doc, { now: NOW });
  t.same(v.document.bytes, utf8(doc), 'document kept as received');
  t.same(v.parsed.signedBytes, utf8(body), 'signed span is the exact element text');
  const ext = v.configuration.extensions;
  t.same(ext.map((e) => [e.namespace, e.name]), [
    ['urn:example:x', 'gadget'],
    ['urn:ietf:params:xml:ns:p2p:config-base', 'unknown-base-element'],
  ]);
  t.equal(ext[0]!.xml, '<x:gadget  a="1&amp;2"   b=\'q\'>  <x:inner>text &lt; more</x:inner>\t</x:gadget>');
  t.same(v.configuration.extensionAttributes, [{ namespace: 'urn:example:x', name: 'mood', value: 'calm', prefix: 'x' }]);
  t.equal(ext[0]!.element!.children[0]!.text, 'text < more', 'the parsed tree is there too');

  // Re-parsing the bytes gives the same bytes back: nothing is ever re-serialized.
  const again = parseOverlayDocument(v.document.bytes);
  t.same(again.bytes, v.document.bytes);
  t.equal(again.configurations[0]!.configuration.extensions[0]!.xml, ext[0]!.xml);

  // A new version written from the parsed values carries the foreign pieces verbatim,
  // with the prefix they need declared.
  const next = writeOverlayDocument({ configuration: { ...v.configuration, sequence: 4 }, signer: op.signer });
  const nextText = fromUtf8(next);
  t.ok(nextText.includes(ext[0]!.xml), 'foreign element text copied verbatim');
  t.match(nextText, 'xmlns:x="urn:example:x"');
  t.match(nextText, 'x:mood="calm"');
  const nv = loadConfiguration(next, { now: NOW, previous: v.configuration });
  t.equal(nv.configuration.extensions[0]!.xml, ext[0]!.xml);
  t.same(nv.configuration.extensionAttributes, v.configuration.extensionAttributes);
});

t.test('the writer refuses configurations it cannot express', async (t) => {
  t.throws(() => writeOverlayDocument({ configuration: config({ sequence: 65535 }) }), { name: 'ConfigurationError', reason: 'value' });
  t.throws(() => writeOverlayDocument({ configuration: config({ rootCerts: [] }) }), { name: 'ConfigurationError', reason: 'structure' });
  t.throws(() => writeOverlayDocument({ configuration: config({ selfSignedPermitted: true, selfSignedDigest: undefined }) }), { name: 'ConfigurationError', reason: 'value' });
  t.throws(() => writeOverlayDocument({ configuration: config({ requiredKinds: [{ ...shareKind, id: undefined }] }) }), { name: 'ConfigurationError', reason: 'structure' });
  t.throws(() => writeOverlayDocument([]), { name: 'ConfigurationError', reason: 'structure' });
  const broken = config({ extensions: [{ namespace: 'urn:y', name: 'y', xml: '<y:thing/>' }] });
  t.throws(() => writeOverlayDocument({ configuration: broken }), { name: 'ConfigurationError', reason: 'xml' }, 'an undeclared prefix in raw text is caught');
});

t.test('two configurations in one document, each signed', async (t) => {
  const other = makeOperator('other.example.org', new Uint8Array(16).fill(1), 'op@other.example.org', createOverlayCA('other.example.org'));
  const bytes = writeOverlayDocument([
    { configuration: config(), signer: op.signer },
    {
      configuration: defaultConfiguration('other.example.org', {
        rootCerts: [other.ca.certificate],
        configurationSigners: [other.credentials.nodeId],
      }),
      signer: other.signer,
    },
  ]);
  t.equal(loadConfiguration(bytes, { now: NOW, instanceName: OVERLAY }).configuration.instanceName, OVERLAY);
  t.equal(loadConfiguration(bytes, { now: NOW, instanceName: 'other.example.org' }).configuration.instanceName, 'other.example.org');
  t.throws(() => loadConfiguration(bytes, { now: NOW }), { name: 'ConfigurationError', reason: 'instance_name' });
});
