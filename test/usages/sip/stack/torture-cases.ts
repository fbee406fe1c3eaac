/**
 * The 49 test messages of RFC 4475 ("SIP Torture Test Messages", §3), byte-exact as the
 * RFC's Appendix B archive distributes them. They are not kept in this repository: the
 * npm package `sip` (a devDependency, from the npm registry) ships that archive in
 * test/messages/*.dat, and they are read from there. The SHA-256 of each file is pinned
 * here, so any other content (an edit, an end-of-line conversion) fails the tests, with
 * what this stack does with each: the parse outcome and the endpoint's answer over UDP to
 * a UAS that handles INVITE, ACK, BYE, CANCEL and OPTIONS and runs uasPrecheck.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Where the `sip` package keeps RFC 4475's archive. */
const TORTURE_DIR = `${dirname(createRequire(import.meta.url).resolve('sip/package.json'))}/test/messages/`;
import type { SipParseErrorCode } from '../../../../usages/sip/stack/index.js';

export interface TortureCase {
  /** File name without .dat, as in the RFC's archive. */
  name: string;
  /** Section of RFC 4475. */
  section: string;
  title: string;
  sha256: string;
  /** undefined: parses; otherwise the SipParseError reason (and header) the parser gives. */
  parseError?: { reason: SipParseErrorCode; header?: string };
  /** The status the endpoint answers with over UDP, or null when it sends nothing. */
  answer: number | null;
  /** What RFC 4475 expects. */
  rfc: string;
}

export const TORTURE: readonly TortureCase[] = [
  { name: 'wsinv', section: '3.1.1.1', title: 'A Short Tortuous INVITE', sha256: 'd6f6cdee99cd0a1f8e3d9a0fdd67c877700e19ab86d8186dada06f61260e3e61', answer: 200, rfc: 'well-formed' },
  { name: 'intmeth', section: '3.1.1.2', title: 'Wide Range of Valid Characters', sha256: 'b957a8292c1c0a9851fe94705b90f94320738f43aacde64998e401f742ef688d', answer: 501, rfc: 'well-formed; endpoint 501 (unknown method)' },
  { name: 'esc01', section: '3.1.1.3', title: 'Valid Use of the % Escaping Mechanism', sha256: 'be3a316d4ce5f69cad474646191e390dd4b50fc8371e44b5197fe1237781973e', answer: 200, rfc: 'well-formed' },
  { name: 'escnull', section: '3.1.1.4', title: 'Escaped Nulls in URIs', sha256: '263fe2ecd12a5ccbb6c67b3174e9211d11da9b600e7d69666a86d2ee42873e90', answer: 405, rfc: 'well-formed' },
  { name: 'esc02', section: '3.1.1.5', title: 'Use of % When It Is Not an Escape', sha256: '9a9c59449f00327b02071feafc8e5c2a261c98c818044167894cc17809a12199', answer: 501, rfc: 'well-formed; method is not REGISTER' },
  { name: 'lwsdisp', section: '3.1.1.6', title: 'Message with No LWS between Display Name and <', sha256: 'd1b36b6316c12824f6f04bf6b1fd1f021cade9b74871693b9c3474cd9fa7f4e6', answer: 200, rfc: 'accept as well-formed' },
  { name: 'longreq', section: '3.1.1.7', title: 'Long Values in Header Fields', sha256: '185739292bc676760e5b1cca77c87705aa570240171c506ad76f8c35af0ecdaa', answer: 200, rfc: 'well-formed' },
  { name: 'dblreq', section: '3.1.1.8', title: 'Extra Trailing Octets in a UDP Datagram', sha256: 'a6be48426565c2a705389c4ce2ea17e57b891cb13f80490a2cb9392c797b46ef', answer: 405, rfc: 'handle the REGISTER, ignore the trailing octets' },
  { name: 'semiuri', section: '3.1.1.9', title: 'Semicolon-Separated Parameters in URI User Part', sha256: '87bbaed6b4b354dbd3c5c7a20e66686303c63e43a0aa19b89de1ac75231611a2', answer: 200, rfc: 'well-formed; user part "user;par=u@example.net"' },
  { name: 'transports', section: '3.1.1.10', title: 'Varied and Unknown Transport Types', sha256: '33b4553a3b9418121b099ff07882535151edd6a1e81898c63a916aad2cbf90bc', answer: 200, rfc: 'well-formed' },
  { name: 'mpart01', section: '3.1.1.11', title: 'Multipart MIME Message', sha256: '92147c8e24997bac59629e1b163767697d0d6d499af87f89e325d69968bec3ba', answer: 405, rfc: 'well-formed; frame the binary body correctly' },
  { name: 'unreason', section: '3.1.1.12', title: 'Unusual Reason Phrase', sha256: '4f939d6ebf4817eea70f011d3209e83732872ffc20ffd304b244084dc392f4d7', answer: null, rfc: 'well-formed response' },
  { name: 'noreason', section: '3.1.1.13', title: 'Empty Reason Phrase', sha256: '07e11e470a69fffa3674de805e5165d1351a9439a91045ee70c9570ea24ab4fe', answer: null, rfc: 'well-formed response' },
  { name: 'badinv01', section: '3.1.2.1', title: 'Extraneous Header Field Separators', sha256: '9ee2b88f2e0b5a9eeb9bf729b6177f0a0c7d0b5e6c84be593e0480d7962f3ab8', parseError: { reason: 'BAD_HEADER_VALUE', header: 'Via' }, answer: 400, rfc: '400' },
  { name: 'clerr', section: '3.1.2.2', title: 'Content Length Larger Than Message', sha256: 'd9da629086a38df433438fb0fb19a8730f34516f049a5520dd0cac3285485290', parseError: { reason: 'BODY_TRUNCATED', header: 'Content-Length' }, answer: 400, rfc: '400 over UDP; on TCP wait for more data' },
  { name: 'ncl', section: '3.1.2.3', title: 'Negative Content-Length', sha256: '7ea6538edc1f054fdb6cd1c821040460cffca3cb682fa2e8e2a502d92170b4c2', parseError: { reason: 'BAD_CONTENT_LENGTH', header: 'Content-Length' }, answer: 400, rfc: 'error response; on TCP close the connection' },
  { name: 'scalar02', section: '3.1.2.4', title: 'Request Scalar Fields with Overlarge Values', sha256: '53158177326568e9964bce5dcfac27a2bf8a90953bbc03f6c5e2775864a97e4b', parseError: { reason: 'BAD_HEADER_VALUE', header: 'CSeq' }, answer: 400, rfc: '400 (CSeq)' },
  { name: 'scalarlg', section: '3.1.2.5', title: 'Response Scalar Fields with Overlarge Values', sha256: '0957eca31737e3592eb1418bb41e9f5219278a78ff420111620d7fb60175b551', parseError: { reason: 'BAD_HEADER_VALUE', header: 'CSeq' }, answer: null, rfc: 'discard the response' },
  { name: 'quotbal', section: '3.1.2.6', title: 'Unterminated Quoted String in Display Name', sha256: 'e61978a2ea359fc666f0336fe4dbc623447532280e3273ea98119b3d3f788c84', parseError: { reason: 'BAD_HEADER_VALUE', header: 'To' }, answer: 400, rfc: '400' },
  { name: 'ltgtruri', section: '3.1.2.7', title: '<> Enclosing Request-URI', sha256: 'bcacb2dc17610e8cc8f9b8b0e3d6ee65ab473f93787a03bbd33579e1cea473df', parseError: { reason: 'BAD_REQUEST_URI' }, answer: 400, rfc: '400' },
  { name: 'lwsruri', section: '3.1.2.8', title: 'Malformed SIP Request-URI (embedded LWS)', sha256: '3e22ceeca585ad23cc180208e2dad94e0a5aa4bb877a61cac443aa927f758b9e', parseError: { reason: 'MALFORMED_START_LINE' }, answer: 400, rfc: '400' },
  { name: 'lwsstart', section: '3.1.2.9', title: 'Multiple SP Separating Request-Line Elements', sha256: 'f884e5626c6c5b1210cfc4a3540b8a28bd52939cff092f3f0c5c971e032adb0e', parseError: { reason: 'MALFORMED_START_LINE' }, answer: 400, rfc: 'reject as malformed (or be liberal)' },
  { name: 'trws', section: '3.1.2.10', title: 'SP Characters at End of Request-Line', sha256: '64ae20694026e28c10746b57386b7fd1276de02b6f8d42d418070e87d6f4499f', parseError: { reason: 'MALFORMED_START_LINE' }, answer: 400, rfc: 'reject as malformed (or be liberal)' },
  { name: 'escruri', section: '3.1.2.11', title: 'Escaped Headers in SIP Request-URI', sha256: 'c3cf30af13a9d107829cc105effd79355f1139c6ecc683a048b4c27951f8f416', parseError: { reason: 'BAD_REQUEST_URI' }, answer: 400, rfc: '400 (or ignore the headers)' },
  { name: 'baddate', section: '3.1.2.12', title: 'Invalid Time Zone in Date Header Field', sha256: '1208a6e3e0c8a8c33a06a1f3733d158413cb72e58c379d094c4ecea11e9d4c28', answer: 200, rfc: 'reject only if Date matters; may ignore it' },
  { name: 'regbadct', section: '3.1.2.13', title: 'Failure to Enclose name-addr URI in <>', sha256: '575d27530275814c1c98be164808fac89a0e2b4fc899dadcd97e6ba499437bda', parseError: { reason: 'BAD_HEADER_VALUE', header: 'Contact' }, answer: 400, rfc: '400' },
  { name: 'badaspec', section: '3.1.2.14', title: 'Spaces within addr-spec', sha256: 'f8f6e2f4247287b0be6adb5ac222a6db4759395e44d27d2ddb9b39393e94867e', parseError: { reason: 'BAD_HEADER_VALUE', header: 'To' }, answer: 400, rfc: '400' },
  { name: 'baddn', section: '3.1.2.15', title: 'Non-token Characters in Display Name', sha256: '9d9428e8017092f194ec11077ba6865c251308cdfd7fd9db6a993b28e5748951', parseError: { reason: 'NO_HEADER_TERMINATOR' }, answer: 400, rfc: '400' },
  { name: 'badvers', section: '3.1.2.16', title: 'Unknown Protocol Version', sha256: '037d702d19e934bfeebbd2609050d7d54928d590cf90c78f3914522771dd8e03', answer: 505, rfc: '505' },
  { name: 'mismatch01', section: '3.1.2.17', title: 'Start Line and CSeq Method Mismatch', sha256: 'a2c285636e451e75420da0cc62ee55ca3e398827008418befbfb078726bf0793', parseError: { reason: 'CSEQ_METHOD_MISMATCH', header: 'CSeq' }, answer: 400, rfc: '400' },
  { name: 'mismatch02', section: '3.1.2.18', title: 'Unknown Method with CSeq Method Mismatch', sha256: '01b287f9a9c492f7f57405c36c8a2af0e2393896ed2d25fb92b502f2a6722bc4', parseError: { reason: 'CSEQ_METHOD_MISMATCH', header: 'CSeq' }, answer: 400, rfc: '501 (400 acceptable)' },
  { name: 'bigcode', section: '3.1.2.19', title: 'Overlarge Response Code', sha256: 'f79450070975da54c3525c9a5cbe75bae3c9d8cb92eba609772c26f66f225c2e', parseError: { reason: 'BAD_STATUS_CODE' }, answer: null, rfc: 'drop' },
  { name: 'badbranch', section: '3.2.1', title: 'Missing Transaction Identifier', sha256: 'cb049c727f16b5ec49e822f9e8b7d0ee20ca2d20ffb50baecd0b411a5e64fa7d', answer: 400, rfc: '400 (or RFC 2543 matching)' },
  { name: 'insuf', section: '3.3.1', title: 'Missing Required Header Fields', sha256: '1e3efd9f3b238c6351ba12bc7eb46d843f2761b5d4a6b82b63bffdf07f2c5aee', parseError: { reason: 'MISSING_HEADER', header: 'From' }, answer: null, rfc: 'must not break; ideally 400' },
  { name: 'unkscm', section: '3.3.2', title: 'Request-URI with Unknown Scheme', sha256: '81be1a6a566c7ab52fe1c58c4a75440dfd697ad04c5e09fa71340de7da7b8bbb', answer: 416, rfc: '416' },
  { name: 'novelsc', section: '3.3.3', title: 'Request-URI with Known but Atypical Scheme', sha256: '9a50a7343fcf685e77c4d0f477138a28f32a41c75aa566d200f3df210b01e648', answer: 416, rfc: '416 (or 404)' },
  { name: 'unksm2', section: '3.3.4', title: 'Unknown URI Schemes in Header Fields', sha256: 'f6914409ced613ef5eb56e264d2f096dac26ab9e397d6a638934d2027f1f6acb', answer: 405, rfc: 'well-formed; a registrar answers 400' },
  { name: 'bext01', section: '3.3.5', title: 'Proxy-Require and Require', sha256: '57181987c02c4f5752b7aa8c2847311f6184216ce7621e40303015949e70761c', answer: 420, rfc: '420 with Unsupported' },
  { name: 'invut', section: '3.3.6', title: 'Unknown Content-Type', sha256: '9b39e824947df46f90f824cd308fb3c118f548d94637f581101e355b381a0d92', answer: 415, rfc: 'endpoint 415' },
  { name: 'regaut01', section: '3.3.7', title: 'Unknown Authorization Scheme', sha256: '885ba0488872cfc04a3c7622854b8381955a5ee890745d6010834e3731a73faa', answer: 405, rfc: 'well-formed; a non-registrar endpoint 405' },
  { name: 'multi01', section: '3.3.8', title: 'Multiple Values in Single Value Required Fields', sha256: 'd156ab12105b4bfd8a6498de6f7195087058162b8cda1606169855b722411791', parseError: { reason: 'DUPLICATE_HEADER', header: 'Call-ID' }, answer: 400, rfc: '400' },
  { name: 'mcl01', section: '3.3.9', title: 'Multiple Content-Length Values', sha256: '887191619bf003b7e87399200b5cf4c3b5397344dbf70288ad5e23bd157b7fe4', parseError: { reason: 'BAD_CONTENT_LENGTH', header: 'Content-Length' }, answer: 400, rfc: 'error response; on TCP close the connection' },
  { name: 'bcast', section: '3.3.10', title: '200 OK Response with Broadcast Via Header Field Value', sha256: '073637c63597199179cf5fc91b980b2d530c066a0048ea3b908772def57b4c36', answer: null, rfc: 'endpoint discards; proxy must not forward' },
  { name: 'zeromf', section: '3.3.11', title: 'Max-Forwards of Zero', sha256: '50954ef47acca4f9f5263ded06246d06dee4e2ee508a8d284191795d7fddf365', answer: 200, rfc: 'endpoint processes it; a proxy answers 483' },
  { name: 'cparam01', section: '3.3.12', title: 'REGISTER with a Contact Header Parameter', sha256: 'dfa6b5cdb289adc694b9b7e103ebfa7a2167335c46e5dc9de67055021910ae1c', answer: 405, rfc: 'well-formed; unknownparam is a contact-param' },
  { name: 'cparam02', section: '3.3.13', title: 'REGISTER with a url-parameter', sha256: 'e93574215bd1d804bb46cc15ca6176b567def7ea1b15f72ab2c2dcf598af465a', answer: 405, rfc: 'well-formed; unknownparam is a URI parameter' },
  { name: 'regescrt', section: '3.3.14', title: 'REGISTER with a URL Escaped Header', sha256: 'dab4087c133348b06fd7b3c4c7ef15094f8754e265e4e8c2137bb3ecda2ef477', answer: 405, rfc: 'well-formed; escaped Route header in the Contact URI' },
  { name: 'sdp01', section: '3.3.15', title: 'Unacceptable Accept Offering', sha256: '497c5f1ced6c7b579b48075e2dca919ce9b819a735964128a6e744a3a0b9e57f', answer: 406, rfc: '406 (or 415)' },
  { name: 'inv2543', section: '3.4.1', title: 'INVITE with RFC 2543 Syntax', sha256: '76fac8afe22dee49ea696b511621946694897ac7030fc5d07f57c8b487ce0521', answer: 200, rfc: 'accept (backward compatibility)' },
];

/** The bytes of one torture message. */
export function torture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(TORTURE_DIR + `${name}.dat`));
}
