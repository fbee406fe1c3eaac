/**
 * IpAddressPort, IceExtension, IceCandidate, AttachReqAns and AppAttachReq/Ans
 * (rfc6940-wire.md §5.1-§5.3).
 */
import t from 'tap';
import { EncodeError, decode, encode, toHex } from '../../src/wire/codec.js';
import {
  type IceCandidate,
  appAttachReqAns,
  attachReqAns,
  formatIPv6,
  iceCandidate,
  iceExtension,
  ipAddressPort,
} from '../../src/wire/attach.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, hex } from '../helpers/roundtrip.js';

const te = new TextEncoder();
const s = (x: string): Uint8Array => te.encode(x);

t.test('IpAddressPort 192.0.2.1:6084 is 01 06 c0 00 02 01 17 c4 (§5.1)', async (t) => {
  assertRoundTrip(t, ipAddressPort, { family: 'ipv4', address: '192.0.2.1', port: 6084 }, `
    01         # ipv4_address
    06         # length: 4-byte address + 2-byte port
    c0000201   # 192.0.2.1
    17c4       # 6084
  `);
  assertRoundTrip(t, ipAddressPort, { family: 'ipv4', address: '0.0.0.0', port: 0 }, '01 06 00000000 0000');
  assertRoundTrip(t, ipAddressPort, { family: 'ipv4', address: '255.255.255.255', port: 65535 }, '01 06 ffffffff ffff');
});

t.test('IPv6 IpAddressPort: 18-byte body, RFC 5952 text', async (t) => {
  assertRoundTrip(t, ipAddressPort, { family: 'ipv6', address: '2001:db8::1', port: 443 }, `
    02                                 # ipv6_address
    12                                 # length 18
    20010db8000000000000000000000001   # 2001:db8::1
    01bb                               # 443
  `);
  assertRoundTrip(t, ipAddressPort, { family: 'ipv6', address: '::', port: 0 }, `02 12 ${'00'.repeat(16)} 0000`);
  assertRoundTrip(t, ipAddressPort, { family: 'ipv6', address: 'fe80::1', port: 6084 }, '02 12 fe800000000000000000000000000001 17c4');
  // Text forms that are not canonical encode to the same bytes and decode canonical.
  t.equal(toHex(encode(ipAddressPort, { family: 'ipv6', address: '2001:DB8:0:0:0:0:0:1', port: 443 })), hex('02 12 20010db8000000000000000000000001 01bb'));
  const mapped = encode(ipAddressPort, { family: 'ipv6', address: '::ffff:192.0.2.1', port: 1 });
  t.equal(toHex(mapped), hex('02 12 00000000000000000000ffff c0000201 0001'));
  t.same(decode(ipAddressPort, mapped), { family: 'ipv6', address: '::ffff:c000:201', port: 1 });
});

t.test('formatIPv6 follows RFC 5952 (longest zero run, first on ties, no single-group ::)', async (t) => {
  t.equal(formatIPv6(bytesOf('20010db8000000000001000000000001')), '2001:db8::1:0:0:1');
  t.equal(formatIPv6(bytesOf('20010000000000010000000000000001')), '2001:0:0:1::1');
  t.equal(formatIPv6(bytesOf('00010000000200030004000500060007')), '1:0:2:3:4:5:6:7');
  t.equal(formatIPv6(bytesOf('00000000000000000000000000000001')), '::1');
  t.equal(formatIPv6(bytesOf('00010000000000000000000000000000')), '1::');
  t.equal(formatIPv6(bytesOf('ABCD0000000000000000000000000000'.toLowerCase())), 'abcd::');
});

t.test('an unknown address type is skipped by its length and kept', async (t) => {
  assertRoundTrip(t, ipAddressPort, { family: 'unknown', type: 7, value: bytesOf('aabbcc') }, '07 03 aabbcc');
});

t.test('hostile addresses', async (t) => {
  // invalidAddressType (0) rejected before its length is read.
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('00 06 c0000201 17c4')), { structure: 'IpAddressPort', field: 'type', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('00 ff')), { structure: 'IpAddressPort', field: 'type', reason: 'value' });
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('01 06 c000')), { structure: 'IpAddressPort', field: 'address', reason: 'length' });
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('01 07 c0000201 17c4 00')), { structure: 'IpAddressPort', field: '(end)', reason: 'trailing' });
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('01 05 c0000201 17')), { structure: 'IpAddressPort', field: 'port', reason: 'truncated' });
  assertDecodeError(t, () => decode(ipAddressPort, bytesOf('02 06 c0000201 17c4')), { structure: 'IpAddressPort', field: 'v6addr', reason: 'truncated' });
});

t.test('encoders refuse addresses that are not addresses', async (t) => {
  for (const address of ['256.1.1.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '']) {
    t.throws(() => encode(ipAddressPort, { family: 'ipv4', address, port: 1 }), EncodeError, `ipv4 ${JSON.stringify(address)}`);
  }
  for (const address of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1:2:3:4:5:6:7', 'g::1', '1::2:3:4:5:6:7:8']) {
    t.throws(() => encode(ipAddressPort, { family: 'ipv6', address, port: 1 }), EncodeError, `ipv6 ${JSON.stringify(address)}`);
  }
  t.throws(() => encode(ipAddressPort, { family: 'unknown', type: 9, value: new Uint8Array(256) }), EncodeError);
});

t.test('IceExtension: two 2-byte-prefixed strings', async (t) => {
  assertRoundTrip(t, iceExtension, { name: s('ab'), value: s('c') }, '0002 6162  0001 63');
  assertRoundTrip(t, iceExtension, { name: new Uint8Array(0), value: new Uint8Array(0) }, '0000 0000');
});

/** IPv4 host candidate, 18 bytes. */
const HOST4: IceCandidate = {
  addrPort: { family: 'ipv4', address: '192.0.2.1', port: 6084 },
  overlayLink: 1,
  foundation: s('1'),
  priority: 0x7e0000ff,
  candType: 1,
  extensions: [],
};
const HOST4_HEX = `
  01 06 c0000201 17c4    # addr_port 192.0.2.1:6084
  01                     # overlay_link DTLS-UDP-SR
  01 31                  # foundation "1"
  7e0000ff               # priority
  01                     # type host: no rel_addr_port
  0000                   # no extensions
`;

/** IPv6 server-reflexive candidate with an extension, 46 bytes. */
const SRFLX6: IceCandidate = {
  addrPort: { family: 'ipv6', address: '2001:db8::5', port: 4096 },
  overlayLink: 3,
  foundation: s('ab'),
  priority: 0x64000001,
  candType: 2,
  relAddrPort: { family: 'ipv4', address: '10.0.0.1', port: 6084 },
  extensions: [{ name: s('x'), value: s('yz') }],
};
const SRFLX6_HEX = `
  02 12 20010db8000000000000000000000005 1000   # [2001:db8::5]:4096
  03                                            # DTLS-UDP-SR-NO-ICE
  02 6162                                       # foundation "ab"
  64000001                                      # priority
  02                                            # srflx
  01 06 0a000001 17c4                           # rel_addr_port 10.0.0.1:6084
  0007 0001 78 0002 797a                        # extensions: {"x": "yz"}
`;

/** IPv6 host candidate with an empty-valued extension, 35 bytes. */
const HOST6: IceCandidate = {
  addrPort: { family: 'ipv6', address: 'fe80::1', port: 6084 },
  overlayLink: 1,
  foundation: s('2'),
  priority: 0x6e0000ff,
  candType: 1,
  extensions: [{ name: s('n'), value: new Uint8Array(0) }],
};
const HOST6_HEX = `
  02 12 fe800000000000000000000000000001 17c4   # [fe80::1]:6084
  01 01 32 6e0000ff 01                          # DTLS-UDP-SR, "2", priority, host
  0005 0001 6e 0000                             # extensions: {"n": ""}
`;

/** IPv4 server-reflexive candidate with an extension, 35 bytes. */
const SRFLX4: IceCandidate = {
  addrPort: { family: 'ipv4', address: '203.0.113.9', port: 3478 },
  overlayLink: 1,
  foundation: s('3'),
  priority: 0x00ffffff,
  candType: 2,
  relAddrPort: { family: 'ipv4', address: '192.0.2.1', port: 6084 },
  extensions: [{ name: s('ab'), value: s('xyz') }],
};
const SRFLX4_HEX = `
  01 06 cb007109 0d96    # 203.0.113.9:3478
  01 01 33 00ffffff 02   # DTLS-UDP-SR, "3", priority, srflx
  01 06 c0000201 17c4    # rel_addr_port 192.0.2.1:6084
  0009 0002 6162 0003 78797a   # extensions: {"ab": "xyz"}
`;

t.test('ICE candidates: host, srflx and relay, IPv4 and IPv6', async (t) => {
  assertRoundTrip(t, iceCandidate, HOST4, HOST4_HEX);
  assertRoundTrip(t, iceCandidate, SRFLX6, SRFLX6_HEX);
  assertRoundTrip(t, iceCandidate, HOST6, HOST6_HEX);
  assertRoundTrip(t, iceCandidate, SRFLX4, SRFLX4_HEX);
  const relay: IceCandidate = { ...SRFLX4, candType: 4, extensions: [] };
  assertRoundTrip(t, iceCandidate, relay, '01 06 cb007109 0d96  01 01 33 00ffffff  04  01 06 c0000201 17c4  0000');
  t.equal(iceCandidate.size(HOST4), 18);
  t.equal(iceCandidate.size(SRFLX6), 46);
  t.equal(iceCandidate.size(HOST6), 35);
  t.equal(iceCandidate.size(SRFLX4), 35);
});

t.test('AttachReq: IPv4 host + IPv6 srflx, role passive', async (t) => {
  assertRoundTrip(t, attachReqAns, {
    ufrag: s('uf'),
    password: s('pw'),
    role: s('passive'),
    candidates: [HOST4, SRFLX6],
    sendUpdate: true,
  }, `
    02 7566                 # ufrag "uf"
    02 7077                 # password "pw"
    07 70617373697665       # role "passive"
    0040                    # candidates: 18 + 46 = 64 bytes
    ${HOST4_HEX}
    ${SRFLX6_HEX}
    01                      # send_update true
  `);
});

t.test('AttachAns: IPv6 host + IPv4 srflx, role active', async (t) => {
  assertRoundTrip(t, attachReqAns, {
    ufrag: s('UF'),
    password: s('PW'),
    role: s('active'),
    candidates: [HOST6, SRFLX4],
    sendUpdate: false,
  }, `
    02 5546 02 5057         # ufrag "UF", password "PW"
    06 616374697665         # role "active"
    0046                    # candidates: 35 + 35 = 70 bytes
    ${HOST6_HEX}
    ${SRFLX4_HEX}
    00                      # send_update false
  `);
});

t.test('AppAttachReq / AppAttachAns: application id, no send_update', async (t) => {
  assertRoundTrip(t, appAttachReqAns, {
    ufrag: s('u'),
    password: s('p'),
    application: 5060,
    role: s('passive'),
    candidates: [HOST4],
  }, `
    01 75 01 70             # ufrag "u", password "p"
    13c4                    # application 5060 (SIP)
    07 70617373697665       # role "passive"
    0012                    # candidates: 18 bytes
    ${HOST4_HEX}
  `);
  assertRoundTrip(t, appAttachReqAns, {
    ufrag: s('U'),
    password: s('P'),
    application: 5061,
    role: s('active'),
    candidates: [HOST6],
  }, `01 55 01 50 13c5 06 616374697665 0023 ${HOST6_HEX}`);
});

t.test('hostile ICE candidates and attach bodies', async (t) => {
  const host = bytesOf(HOST4_HEX);
  const withType = (type: number): Uint8Array => {
    const b = host.slice();
    b[15] = type;
    return b;
  };
  // CandType 3 is reserved, 0 invalid, 5 unknown: the select cannot be skipped.
  for (const type of [0, 3, 5, 0xff]) {
    assertDecodeError(t, () => decode(iceCandidate, withType(type)), { structure: 'IceCandidate', field: 'type', reason: 'value', offset: 15 }, `CandType ${type}`);
  }
  const link0 = host.slice();
  link0[8] = 0;
  assertDecodeError(t, () => decode(iceCandidate, link0), { structure: 'IceCandidate', field: 'overlay_link', reason: 'value', offset: 8 });
  // srflx without its rel_addr_port: the extension prefix is read as an address.
  assertDecodeError(t, () => decode(iceCandidate, withType(2)), { structure: 'IpAddressPort', field: 'type', reason: 'value' });
  // Foundation length lying.
  const f = host.slice();
  f[9] = 0x20;
  assertDecodeError(t, () => decode(iceCandidate, f), { structure: 'IceCandidate', field: 'foundation', reason: 'length' });
  // send_update must be a Boolean.
  assertDecodeError(t, () => decode(attachReqAns, bytesOf('00 00 00 0000 02')), { structure: 'AttachReqAns', field: 'send_update', reason: 'value', offset: 5 });
  // Candidate list byte count larger than what is left.
  assertDecodeError(t, () => decode(attachReqAns, bytesOf('00 00 00 0013 01')), { structure: 'candidates', field: 'length', reason: 'length' });
  assertDecodeError(t, () => decode(appAttachReqAns, bytesOf('00 00 13c4 08 70617373697665')), { structure: 'AppAttachReqAns', field: 'role', reason: 'length' });
  t.throws(() => encode(iceCandidate, { ...HOST4, candType: 2 }), EncodeError, 'srflx needs rel_addr_port');
});

t.test('property: random addresses, candidates and attach bodies round-trip', async (t) => {
  const g = new Gen('attach');
  assertRoundTripMany(t, ipAddressPort, 2000, () => g.ipAddressPort());
  assertRoundTripMany(t, iceExtension, 1000, () => g.iceExtension());
  assertRoundTripMany(t, iceCandidate, 1500, () => g.iceCandidate());
  assertRoundTripMany(t, attachReqAns, 1000, () => g.attachReqAns());
  assertRoundTripMany(t, appAttachReqAns, 1000, () => g.appAttachReqAns());
});
