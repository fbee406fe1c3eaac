/**
 * SDP offer/answer for the conference focus (RFC 3264 §6), enough for real user agents and
 * sipp to accept a call: media mixing is out of scope, so the focus answers every offered
 * stream with the same media line (type, transport, formats and their rtpmap/fmtp) at a
 * receive port of its own, and the opposite direction attribute. A stream offered with port
 * 0 is rejected with port 0 (§6). An INVITE without an offer gets an offer (audio, PCMU).
 */

export class SdpError extends Error {
  readonly code = 'ERR_SDP';
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}

const DIRECTIONS: Record<string, string> = { sendonly: 'recvonly', recvonly: 'sendonly', sendrecv: 'sendrecv', inactive: 'inactive' };
/** Media-level attributes kept in the answer (the formats' descriptions). */
const KEPT = new Set(['rtpmap', 'fmtp', 'ptime', 'maxptime', 'rtcp-fb']);

export interface SdpAnswerOptions {
  /** Address written into o= and c=. */
  address: string;
  /** First receive port; stream i gets port + 2i. */
  port: number;
  /** Session id / version for o= (increase the version for a re-INVITE answer). */
  sessionId: number;
  sessionVersion: number;
}

function addrType(address: string): string {
  return address.includes(':') ? 'IP6' : 'IP4';
}

/** The answer to an offer (RFC 3264 §6). Throws SdpError when the offer has no v= or no m= line. */
export function answerSdp(offer: string, o: SdpAnswerOptions): string {
  const lines = offer.split(/\r?\n/).filter((l) => l.length > 0);
  if (!lines[0]?.startsWith('v=')) throw new SdpError('the offer does not start with v=');
  const media: { m: string[]; attrs: string[] }[] = [];
  let sessionDirection: string | undefined;
  for (const l of lines) {
    if (l.startsWith('m=')) {
      const parts = l.slice(2).split(' ');
      if (parts.length < 4) throw new SdpError(`malformed media line ${JSON.stringify(l)}`);
      media.push({ m: parts, attrs: [] });
      continue;
    }
    if (!l.startsWith('a=')) continue;
    const attr = l.slice(2);
    const name = attr.split(':', 1)[0]!;
    if (media.length === 0) {
      if (DIRECTIONS[name]) sessionDirection = name;
      continue;
    }
    media[media.length - 1]!.attrs.push(attr);
  }
  if (media.length === 0) throw new SdpError('the offer has no media line');
  const at = addrType(o.address);
  const out = ['v=0', `o=disco-focus ${o.sessionId} ${o.sessionVersion} IN ${at} ${o.address}`, 's=DisCo conference', `c=IN ${at} ${o.address}`, 't=0 0'];
  media.forEach((mm, i) => {
    const [type, port, proto, ...formats] = mm.m as [string, string, string, ...string[]];
    if (port === '0') {
      out.push(`m=${type} 0 ${proto} ${formats.join(' ')}`);
      return;
    }
    out.push(`m=${type} ${o.port + 2 * i} ${proto} ${formats.join(' ')}`);
    let direction = sessionDirection ?? 'sendrecv';
    for (const a of mm.attrs) {
      const name = a.split(':', 1)[0]!;
      if (DIRECTIONS[name]) direction = name;
      else if (KEPT.has(name)) out.push(`a=${a}`);
    }
    out.push(`a=${DIRECTIONS[direction]}`);
  });
  return `${out.join('\r\n')}\r\n`;
}

/** An offer of the focus when the INVITE had none (or for a focus-initiated INVITE). */
export function offerSdp(o: SdpAnswerOptions): string {
  const at = addrType(o.address);
  return (
    [
      'v=0',
      `o=disco-focus ${o.sessionId} ${o.sessionVersion} IN ${at} ${o.address}`,
      's=DisCo conference',
      `c=IN ${at} ${o.address}`,
      't=0 0',
      `m=audio ${o.port} RTP/AVP 0 8 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=sendrecv',
    ].join('\r\n') + '\r\n'
  );
}
