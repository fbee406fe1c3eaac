/**
 * Building the messages the stack derives from others: responses (RFC 3261 §8.2.6), the
 * ACK for a non-2xx final response (§17.1.1.3), CANCEL (§9.1), and the identifiers that go
 * in them (branch §8.1.1.7, tag §19.3).
 */
import type { Random } from '../../../src/common/random.js';
import { DEFAULT_MAX_FORWARDS, MAGIC_COOKIE, reasonPhrase } from './constants.js';
import { SipStackError } from './errors.js';
import { formatNameAddr, getParam, parseNameAddr, setParam } from './header-values.js';
import { SipRequest, SipResponse } from './message.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A new RFC 3261 branch: the magic cookie and 64 random bits (RFC 3261 §8.1.1.7). */
export function generateBranch(random: Random): string {
  return MAGIC_COOKIE + hex(random.bytes(8));
}

/** A new From/To tag: 64 random bits (RFC 3261 §19.3 asks for at least 32). */
export function generateTag(random: Random): string {
  return hex(random.bytes(8));
}

/** A new Call-ID: 128 random bits at the given host (RFC 3261 §8.1.1.4). */
export function generateCallId(random: Random, host?: string): string {
  const id = hex(random.bytes(16));
  return host ? `${id}@${host}` : id;
}

/** Methods whose 101-299 responses create a dialog and so carry Record-Route (RFC 3261 §12.1.1). */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

export interface CreateResponseOptions {
  /** Reason-Phrase; default from RFC 3261 §21. */
  reason?: string;
  /** The To tag to add when the request has none (ignored for 100). */
  toTag?: string;
}

/**
 * A response to `req` (RFC 3261 §8.2.6.2): Via (all values, in order), From, To, Call-ID,
 * CSeq copied; a To tag added when the request has none (except for 100 Trying);
 * Timestamp copied into 100 (§8.2.6.1); Record-Route copied into 101-299 responses to
 * dialog-creating requests (§12.1.1). The body is empty.
 */
export function createResponse(req: SipRequest, status: number, options: CreateResponseOptions = {}): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new SipStackError('INVALID_ARGUMENT', `status ${status} is not in 100..699`);
  }
  const res = new SipResponse(status, options.reason ?? reasonPhrase(status));
  const copy = (name: string): void => {
    for (const v of req.getAll(name)) res.headers.push({ name, value: v });
  };
  copy('Via');
  copy('From');
  const to = req.get('To');
  if (to !== undefined) {
    let value = to;
    if (status !== 100 && options.toTag !== undefined) {
      const na = parseNameAddr(to, 'To');
      if (getParam(na.params, 'tag') === undefined) {
        setParam(na.params, 'tag', options.toTag);
        value = formatNameAddr(na);
      }
    }
    res.headers.push({ name: 'To', value });
  }
  copy('Call-ID');
  copy('CSeq');
  if (status === 100) copy('Timestamp');
  if (status > 100 && status < 300 && DIALOG_CREATING.has(req.method)) copy('Record-Route');
  return res;
}

/**
 * The ACK a client INVITE transaction sends for a 300-699 response (RFC 3261 §17.1.1.3):
 * Request-URI, Call-ID, From, CSeq number and Route of the INVITE, only its top Via, and
 * the To of the response (with its tag).
 */
export function createAckForNon2xx(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest('ACK', structuredClone(invite.uri));
  const topVia = invite.get('Via');
  if (topVia !== undefined) ack.headers.push({ name: 'Via', value: topVia });
  ack.headers.push({ name: 'Max-Forwards', value: invite.get('Max-Forwards') ?? String(DEFAULT_MAX_FORWARDS) });
  for (const name of ['From', 'Call-ID'] as const) {
    const v = invite.get(name);
    if (v !== undefined) ack.headers.push({ name, value: v });
  }
  const to = response.get('To') ?? invite.get('To');
  if (to !== undefined) ack.headers.push({ name: 'To', value: to });
  ack.headers.push({ name: 'CSeq', value: `${invite.cseq().seq} ACK` });
  for (const r of invite.getAll('Route')) ack.headers.push({ name: 'Route', value: r });
  return ack;
}

/**
 * A CANCEL for a pending request (RFC 3261 §9.1): same Request-URI, Call-ID, To, From,
 * CSeq number and Route; one Via equal to the top Via of the request (same branch).
 */
export function createCancel(request: SipRequest, reason?: string): SipRequest {
  if (request.method === 'ACK') throw new SipStackError('INVALID_ARGUMENT', 'an ACK cannot be cancelled');
  const cancel = new SipRequest('CANCEL', structuredClone(request.uri));
  const topVia = request.get('Via');
  if (topVia !== undefined) cancel.headers.push({ name: 'Via', value: topVia });
  cancel.headers.push({ name: 'Max-Forwards', value: String(DEFAULT_MAX_FORWARDS) });
  for (const name of ['From', 'To', 'Call-ID'] as const) {
    const v = request.get(name);
    if (v !== undefined) cancel.headers.push({ name, value: v });
  }
  cancel.headers.push({ name: 'CSeq', value: `${request.cseq().seq} CANCEL` });
  for (const r of request.getAll('Route')) cancel.headers.push({ name: 'Route', value: r });
  if (reason !== undefined) cancel.headers.push({ name: 'Reason', value: reason });
  return cancel;
}
