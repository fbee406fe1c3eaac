/** Reading the configuration document into typed values (src/config/parse.ts). */
import t from 'tap';
import { createOverlayCA } from '../../certs/ca.js';
import { ConfigurationError } from '../../src/config/errors.js';
import { parseKindBlock, parseOverlayDocument, selectConfiguration } from '../../src/config/parse.js';
import { CONFIG_DEFAULTS, LANDMARKS_NS } from '../../src/config/types.js';
import { toHex, utf8 } from '../../src/wire/codec.js';

const ca = createOverlayCA('overlay.example.org');
const ROOT = Buffer.from(ca.certificate).toString('base64');
const SIGNER = '9f2c6a01d4e35b7788a1c0de42f15e63';

/** The behaviour digest's §9.6 example, with a real root-cert and foreign extras. */
const EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base"
         xmlns:chord="urn:ietf:params:xml:ns:p2p:config-chord"
         xmlns:sip="urn:ietf:params:xml:ns:p2p:config-base:sip"
         xmlns:share="urn:ietf:params:xml:ns:p2p:config-base:share"
         xmlns:ex="urn:example:ext">
  <configuration instance-name="overlay.example.org" sequence="7"
                 expiration="2030-01-01T00:00:00Z" ex:flavour="vanilla">
    <topology-plugin>CHORD-RELOAD</topology-plugin>
    <node-id-length>16</node-id-length>
    <root-cert>
      ${ROOT.replace(/(.{64})/g, '$1\n      ')}
    </root-cert>
    <enrollment-server>https://enroll.example.org/reload</enrollment-server>
    <bootstrap-node address="192.0.2.10" port="6084"/>
    <bootstrap-node address="2001:db8::10"/>
    <turn-density>10</turn-density>
    <clients-permitted>1</clients-permitted>
    <no-ice>false</no-ice>
    <chord:chord-update-interval>300</chord:chord-update-interval>
    <chord:chord-ping-interval>1800</chord:chord-ping-interval>
    <chord:chord-reactive>0</chord:chord-reactive>
    <shared-secret>open sesame</shared-secret>
    <max-message-size>6000</max-message-size>
    <initial-ttl>64</initial-ttl>
    <overlay-reliability-timer>2500</overlay-reliability-timer>
    <overlay-link-protocol>TLS</overlay-link-protocol>
    <overlay-link-protocol>EXP-PROTOCOL</overlay-link-protocol>
    <configuration-signer>${SIGNER}</configuration-signer>
    <kind-signer>${SIGNER}</kind-signer>
    <bad-node>00112233445566778899aabbccddeeff</bad-node>
    <mandatory-extension>urn:example:ext</mandatory-extension>
    <ex:widget size="3"><ex:part>one</ex:part></ex:widget>
    <lm:landmarks xmlns:lm="${LANDMARKS_NS}">
      <lm:landmark address="198.51.100.1" port="7000" node-id="0102030405060708090a0b0c0d0e0f10"/>
      <lm:landmark address="landmark.example.org"/>
    </lm:landmarks>
    <required-kinds>
      <kind-block>
        <kind name="SIP-REGISTRATION">
          <data-model>SINGLE</data-model>
          <access-control>NODE-MATCH</access-control>
          <max-count>4</max-count>
          <max-size>4096</max-size>
          <sip:domain-restriction enable="true">
            <sip:pattern>dht\\.example\\.com</sip:pattern>
            <sip:pattern>.*\\.my\\.example</sip:pattern>
          </sip:domain-restriction>
        </kind>
        <kind-signature>AAAA</kind-signature>
      </kind-block>
      <kind-block>
        <kind id="4026531841" ex:note="private">
          <data-model>dictionary</data-model>
          <access-control>USER-CHAIN-ACL</access-control>
          <max-count>8</max-count>
          <max-size>512</max-size>
          <share:variable-resource-names enable="true">
            <share:pattern>$USER-[0-9]+@$DOMAIN</share:pattern>
          </share:variable-resource-names>
          <ex:colour>blue</ex:colour>
        </kind>
      </kind-block>
      <kind-block>
        <kind name="TURN-SERVICE">
          <data-model>SINGLE</data-model>
          <access-control>NODE-MULTIPLE</access-control>
          <max-count>1</max-count>
          <max-size>100</max-size>
        </kind>
      </kind-block>
    </required-kinds>
  </configuration>
  <signature algorithm="rsa-sha256">QUJD</signature>
  <ex:trailer/>
</overlay>
`;

t.test('the example configuration reads into typed values', async (t) => {
  const doc = parseOverlayDocument(EXAMPLE);
  t.equal(doc.configurations.length, 1);
  const p = doc.configurations[0]!;
  const c = p.configuration;
  t.equal(c.instanceName, 'overlay.example.org');
  t.equal(c.sequence, 7);
  t.equal(c.expiration, Date.UTC(2030, 0, 1));
  t.equal(c.topologyPlugin, 'CHORD-RELOAD');
  t.equal(c.nodeIdLength, 16);
  t.equal(c.rootCerts.length, 1);
  t.same(c.rootCerts[0], ca.certificate, 'wrapped base64 root-cert decodes to the DER');
  t.same(c.enrollmentServers, ['https://enroll.example.org/reload']);
  t.same(c.bootstrapNodes, [
    { address: '192.0.2.10', port: 6084 },
    { address: '2001:db8::10', port: 6084 },
  ]);
  t.equal(c.turnDensity, 10);
  t.equal(c.clientsPermitted, true);
  t.equal(c.noIce, false);
  t.equal(c.chordUpdateIntervalS, 300);
  t.equal(c.chordPingIntervalS, 1800);
  t.equal(c.chordReactive, false);
  t.equal(c.sharedSecret, 'open sesame');
  t.equal(c.maxMessageSize, 6000);
  t.equal(c.initialTtl, 64);
  t.equal(c.overlayReliabilityTimerMs, 2500);
  t.same(c.overlayLinkProtocols, ['TLS', 'EXP-PROTOCOL']);
  t.same(c.configurationSigners.map(toHex), [SIGNER]);
  t.same(c.kindSigners.map(toHex), [SIGNER]);
  t.same(c.badNodes.map(toHex), ['00112233445566778899aabbccddeeff']);
  t.same(c.mandatoryExtensions, ['urn:example:ext']);
  t.equal(c.selfSignedPermitted, false);
  t.same(c.landmarks.map((l) => [l.address, l.port, l.nodeId && toHex(l.nodeId)]), [
    ['198.51.100.1', 7000, '0102030405060708090a0b0c0d0e0f10'],
    ['landmark.example.org', 6084, undefined],
  ]);
  t.same(c.extensionAttributes, [{ namespace: 'urn:example:ext', name: 'flavour', value: 'vanilla', prefix: 'ex' }]);
  t.equal(c.extensions.length, 1);
  t.equal(c.extensions[0]!.name, 'widget');
  t.equal(c.extensions[0]!.namespace, 'urn:example:ext');
  t.equal(c.extensions[0]!.xml, '<ex:widget size="3"><ex:part>one</ex:part></ex:widget>', 'foreign element exposed raw');
  t.equal(doc.extensions.length, 1);
  t.equal(doc.extensions[0]!.xml, '<ex:trailer/>');
  t.equal(p.signatureBase64, 'QUJD');
  t.equal(p.signatureAlgorithm, 'rsa-sha256');

  // The signed span: exactly the <configuration> element of the text.
  const start = EXAMPLE.indexOf('<configuration ');
  const end = EXAMPLE.indexOf('</configuration>') + '</configuration>'.length;
  t.same(p.signedBytes, utf8(EXAMPLE.slice(start, end)));
  t.same(doc.bytes, utf8(EXAMPLE), 'document bytes kept as received');

  t.equal(c.requiredKinds.length, 3);
  const [sip, priv, turn] = c.requiredKinds as [typeof c.requiredKinds[0], typeof c.requiredKinds[0], typeof c.requiredKinds[0]];
  t.equal(sip.name, 'SIP-REGISTRATION');
  t.equal(sip.id, 1);
  t.equal(sip.dataModel, 'DICTIONARY', 'the registry wins over the document (RFC 6940 §11.1)');
  t.equal(sip.accessControl, 'USER-NODE-MATCH');
  t.same(sip.sipDomainRestriction, { enable: true, patterns: ['dht\\.example\\.com', '.*\\.my\\.example'] });
  t.equal(priv.name, undefined);
  t.equal(priv.id, 0xf0000001);
  t.equal(priv.dataModel, 'DICTIONARY');
  t.equal(priv.accessControl, 'USER-CHAIN-ACL');
  t.same(priv.shareVariableResourceNames, { enable: true, patterns: ['$USER-[0-9]+@$DOMAIN'] });
  t.same(priv.extensions.map((e) => e.xml), ['<ex:colour>blue</ex:colour>']);
  t.same(priv.extensionAttributes, [{ namespace: 'urn:example:ext', name: 'note', value: 'private', prefix: 'ex' }]);
  t.equal(turn.maxNodeMultiple, 20, 'TURN-SERVICE takes the registered NODE-MULTIPLE maximum');
  t.equal(p.kindBlocks[0]!.signatureBase64, 'AAAA');
  t.equal(p.kindBlocks[1]!.signatureBase64, undefined);
  t.equal(p.kindBlocks[0]!.kindXml, EXAMPLE.slice(EXAMPLE.indexOf('<kind name="SIP-REGISTRATION">'), EXAMPLE.indexOf('</kind>') + 7));
});

t.test('absent elements take the RFC 6940 defaults', async (t) => {
  const doc = parseOverlayDocument(`<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base">
    <configuration instance-name="lan.example"><self-signed-permitted digest="sha1">true</self-signed-permitted></configuration>
  </overlay>`);
  const c = doc.configurations[0]!.configuration;
  t.equal(c.sequence, 0);
  t.equal(c.expiration, undefined);
  t.equal(c.topologyPlugin, CONFIG_DEFAULTS.topologyPlugin);
  t.equal(c.nodeIdLength, 16);
  t.equal(c.turnDensity, 1);
  t.equal(c.clientsPermitted, true);
  t.equal(c.noIce, false);
  t.equal(c.chordUpdateIntervalS, 600);
  t.equal(c.chordPingIntervalS, 3600);
  t.equal(c.chordReactive, true);
  t.equal(c.maxMessageSize, 5000);
  t.equal(c.initialTtl, 100);
  t.equal(c.overlayReliabilityTimerMs, 3000);
  t.same(c.overlayLinkProtocols, ['TLS']);
  t.equal(c.selfSignedPermitted, true);
  t.equal(c.selfSignedDigest, 'sha1');
  t.equal(doc.configurations[0]!.signatureBase64, undefined);
});

t.test('documents without a namespace declaration read as the base namespace', async (t) => {
  const doc = parseOverlayDocument(`<overlay><configuration instance-name="x.example"><root-cert>${ROOT}</root-cert><topology-plug-in>EXP-OVERLAY</topology-plug-in></configuration></overlay>`);
  t.equal(doc.configurations[0]!.configuration.topologyPlugin, 'EXP-OVERLAY', 'the prose spelling topology-plug-in is accepted');
});

t.test('several configurations: select by instance-name', async (t) => {
  const doc = parseOverlayDocument(`<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base">
    <configuration instance-name="a.example"><root-cert>${ROOT}</root-cert></configuration><signature>QUJD</signature>
    <configuration instance-name="b.example"><root-cert>${ROOT}</root-cert></configuration>
  </overlay>`);
  t.equal(selectConfiguration(doc, 'B.EXAMPLE').configuration.instanceName, 'b.example');
  t.equal(selectConfiguration(doc, 'a.example').signatureBase64, 'QUJD');
  t.throws(() => selectConfiguration(doc), { name: 'ConfigurationError', reason: 'instance_name' });
  t.throws(() => selectConfiguration(doc, 'c.example'), { name: 'ConfigurationError', reason: 'instance_name', message: 'document has no configuration for overlay c.example' });
});

t.test('a standalone kind-block (ConfigUpdate of type kind) parses', async (t) => {
  const kb = parseKindBlock(`<kind-block><kind id="4026531842"><data-model>ARRAY</data-model><access-control>NODE-MULTIPLE</access-control><max-count>2</max-count><max-size>10</max-size><max-node-multiple>3</max-node-multiple></kind><kind-signature>QUJD</kind-signature></kind-block>`);
  t.equal(kb.kind.id, 0xf0000002);
  t.equal(kb.kind.maxNodeMultiple, 3);
  t.equal(kb.signatureBase64, 'QUJD');
  t.throws(() => parseKindBlock('<kind/>'), { name: 'ConfigurationError', reason: 'structure' });
  t.throws(() => parseKindBlock(new Uint8Array([0x3c, 0xff, 0x3e])), { name: 'ConfigurationError', reason: 'xml' });
});

t.test('bad documents are refused with a reason naming the problem', async (t) => {
  const wrap = (inner: string, attrs = 'instance-name="x.example"'): string =>
    `<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base" xmlns:chord="urn:ietf:params:xml:ns:p2p:config-chord"><configuration ${attrs}><root-cert>${ROOT}</root-cert>${inner}</configuration></overlay>`;
  const kind = (body: string, attr = 'id="4026531841"'): string => wrap(`<required-kinds><kind-block><kind ${attr}>${body}</kind></kind-block></required-kinds>`);
  const full = '<data-model>SINGLE</data-model><access-control>USER-MATCH</access-control><max-count>1</max-count><max-size>1</max-size>';
  const cases: [string | Uint8Array, string, RegExp][] = [
    ['<overlay', 'xml', /not well-formed XML/],
    [new Uint8Array([0x3c, 0x6f, 0xc3, 0x28, 0x2f, 0x3e]), 'xml', /not valid UTF-8/],
    ['<!DOCTYPE overlay><overlay/>', 'xml', /DOCTYPE/],
    ['<config xmlns="urn:ietf:params:xml:ns:p2p:config-base"/>', 'structure', /root element is <config>/],
    ['<overlay xmlns="urn:other"/>', 'structure', /root element is <overlay>, expected <overlay> in urn:ietf/],
    ['<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base"/>', 'structure', /no <configuration>/],
    ['<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base"><signature>QUJD</signature></overlay>', 'structure', /<signature> does not follow a <configuration>/],
    ['<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base">text</overlay>', 'structure', /holds text/],
    [wrap('', ''), 'structure', /no instance-name/],
    [wrap('', 'instance-name="not a dns name"'), 'value', /is not a DNS name/],
    [wrap('', 'instance-name="x.example" sequence="65535"'), 'value', /sequence 65535 is never used/],
    [wrap('', 'instance-name="x.example" sequence="-1"'), 'value', /sequence must be an integer/],
    [wrap('', 'instance-name="x.example" expiration="tomorrow"'), 'value', /is not an RFC 3339 time/],
    [wrap('<node-id-length>15</node-id-length>'), 'value', /node-id-length must be in 16..20, got 15/],
    [wrap('<node-id-length>16</node-id-length><node-id-length>16</node-id-length>'), 'structure', /<node-id-length> appears more than once/],
    [wrap('<no-ice>yes</no-ice>'), 'value', /no-ice must be true, false, 1 or 0/],
    [wrap('<turn-density>256</turn-density>'), 'value', /turn-density must be in 0..255/],
    [wrap('<initial-ttl>0</initial-ttl>'), 'value', /initial-ttl must be in 1..255/],
    [wrap('<overlay-reliability-timer>199</overlay-reliability-timer>'), 'value', /overlay-reliability-timer must be in 200/],
    [wrap('<chord:chord-ping-interval>x</chord:chord-ping-interval>'), 'value', /chord:chord-ping-interval must be an integer/],
    [wrap('<root-cert>!!!!</root-cert>'), 'value', /<root-cert> is not base64/],
    [wrap('<root-cert>QUJD</root-cert>'), 'value', /<root-cert> is not a DER X.509 certificate/],
    [wrap('<enrollment-server>http://e.example/</enrollment-server>'), 'value', /must be an https: URL/],
    [wrap('<bootstrap-node address="boot.example"/>'), 'value', /is not an IP address/],
    [wrap('<bootstrap-node port="1"/>'), 'structure', /<bootstrap-node> has no address/],
    [wrap('<bootstrap-node address="192.0.2.1" port="65536"/>'), 'value', /bootstrap-node port must be in 1..65535/],
    [wrap('<self-signed-permitted>true</self-signed-permitted>'), 'value', /digest must be sha1 or sha256/],
    [wrap('<configuration-signer>abc</configuration-signer>'), 'value', /must be a hex Node-ID/],
    [wrap('<configuration-signer>0011</configuration-signer>'), 'value', /configuration-signer is 2 bytes, node-id-length is 16/],
    [wrap('<topology-plugin><x/></topology-plugin>'), 'structure', /must hold text, not elements/],
    [`<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base"><configuration instance-name="x.example"/></overlay>`, 'structure', /no root-cert and does not permit self-signed/],
    [kind(full, 'id="1" name="TURN-SERVICE"'), 'structure', /exactly one of name= or id=/],
    [kind(full, ''), 'structure', /exactly one of name= or id=/],
    [kind('<data-model>SINGLE</data-model><access-control>USER-MATCH</access-control><max-size>1</max-size>'), 'structure', /has no <max-count>/],
    [kind('<access-control>USER-MATCH</access-control><max-count>1</max-count><max-size>1</max-size>'), 'structure', /has no <data-model>/],
    [kind('<data-model>ARRAY</data-model><access-control>NODE-MULTIPLE</access-control><max-count>1</max-count><max-size>1</max-size>'), 'structure', /NODE-MULTIPLE without <max-node-multiple>/],
    [kind(`${full}<max-count>2</max-count>`), 'structure', /<max-count> appears more than once/],
    [kind(full.replace('<max-size>1</max-size>', '<max-size>0</max-size>')), 'value', /max-size must be in 1/],
    [wrap('<required-kinds><kind-block/></required-kinds>'), 'structure', /<kind-block> has no <kind>/],
    [wrap('<required-kinds><kind/></required-kinds>'), 'structure', /unexpected <kind> inside <required-kinds>/],
    [wrap(`<lm:landmarks xmlns:lm="${LANDMARKS_NS}"><lm:landmark/></lm:landmarks>`), 'structure', /<landmark> has no address/],
    [wrap(`<lm:landmarks xmlns:lm="${LANDMARKS_NS}"><lm:landmark address="a" node-id="00"/></lm:landmarks>`), 'value', /landmark node-id is 1 bytes/],
    [wrap(`<lm:landmarks xmlns:lm="${LANDMARKS_NS}"><lm:landmark address="a" transport="sctp"/></lm:landmarks>`), 'value', /landmark transport "sctp" is not one of tls, udp, tcp/],
  ];
  for (const [doc, reason, message] of cases) {
    t.throws(() => parseOverlayDocument(doc), { name: 'ConfigurationError', reason, message }, typeof doc === 'string' ? doc.slice(0, 200) : 'bytes');
  }
  t.throws(() => parseOverlayDocument(EXAMPLE, { maxBytes: 100 }), { name: 'ConfigurationError', reason: 'too_large' });
});

t.test('garbage never escapes as anything but ConfigurationError', async (t) => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '<>/&;="\'!-[]?:ab 0129xyz\n';
  for (let i = 0; i < 1500; i++) {
    const chars = EXAMPLE.split('');
    for (let k = 0; k < 1 + rnd(3); k++) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!;
    try {
      parseOverlayDocument(chars.join(''));
    } catch (err) {
      if (!(err instanceof ConfigurationError)) t.fail(`threw ${String(err)}`);
    }
  }
  t.pass('1500 mutated documents');
});
