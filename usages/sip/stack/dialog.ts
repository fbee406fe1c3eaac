/**
 * Dialog helpers (RFC 3261 §12): the dialog id, the route set from Record-Route (reversed
 * for the UAC, §12.1.2; in order for the UAS, §12.1.1), the remote target, local and
 * remote CSeq tracking (§12.2.1.1, §12.2.2), and building in-dialog requests with loose or
 * strict routing (§12.2.1.1) and the ACK for a 2xx (§13.2.2.4).
 */
import { DEFAULT_MAX_FORWARDS } from './constants.js';
import { SipStackError } from './errors.js';
import { type NameAddr, formatNameAddr, getParam, parseNameAddr, setParam } from './header-values.js';
import { SipRequest, type SipResponse } from './message.js';
import { type Uri, getUriParam } from './uri.js';

export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

/** A string key for maps: Call-ID, local tag, remote tag. */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\u0000${id.localTag}\u0000${id.remoteTag}`;
}

/**
 * The id of the dialog a message belongs to, seen from this side: for a UAC (we sent the
 * request) the local tag is the From tag; for a UAS the local tag is the To tag.
 * Undefined when a tag is missing (no dialog).
 */
export function dialogIdOf(msg: SipRequest | SipResponse, role: 'uac' | 'uas'): DialogId | undefined {
  const from = msg.fromTag();
  const to = msg.toTag();
  if (from === undefined || to === undefined) return undefined;
  return role === 'uac' ? { callId: msg.callId(), localTag: from, remoteTag: to } : { callId: msg.callId(), localTag: to, remoteTag: from };
}

export type DialogState = 'early' | 'confirmed' | 'terminated';

export interface DialogInit {
  id: DialogId;
  state: DialogState;
  /** The local party (From of our requests), with no tag. */
  localUri: NameAddr;
  remoteUri: NameAddr;
  remoteTarget: Uri;
  /** Route set values, in the order they go into Route of our requests. */
  routeSet: string[];
  localSeq?: number;
  remoteSeq?: number;
  secure?: boolean;
  /** Contact of our requests, as a header value. */
  localContact?: string;
}

function withoutTag(na: NameAddr): NameAddr {
  return { ...na, params: na.params.filter((p) => p.name.toLowerCase() !== 'tag') };
}

function contactTarget(msg: SipRequest | SipResponse): Uri {
  const c = msg.contacts()[0];
  if (!c || c === '*') throw new SipStackError('INVALID_ARGUMENT', 'dialog-creating message has no Contact');
  return c.uri;
}

export class Dialog {
  readonly id: DialogId;
  state: DialogState;
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  remoteTarget: Uri;
  readonly routeSet: string[];
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  readonly secure: boolean;
  localContact: string | undefined;

  constructor(init: DialogInit) {
    this.id = init.id;
    this.state = init.state;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure ?? false;
    this.localContact = init.localContact;
  }

  get key(): string {
    return dialogKey(this.id);
  }

  /**
   * The UAC's dialog from its request and a 101-299 response with a To tag (RFC 3261
   * §12.1.2): route set = Record-Route of the response reversed, remote target = its
   * Contact, local CSeq = the request's.
   */
  static asUac(request: SipRequest, response: SipResponse, localContact?: string): Dialog {
    const id = dialogIdOf(response, 'uac');
    if (!id || response.status < 101 || response.status > 299) {
      throw new SipStackError('INVALID_ARGUMENT', 'a dialog needs a 101-299 response with From and To tags');
    }
    const init: DialogInit = {
      id,
      state: response.status >= 200 ? 'confirmed' : 'early',
      localUri: withoutTag(request.from()),
      remoteUri: withoutTag(response.to()),
      remoteTarget: contactTarget(response),
      routeSet: response.getAll('Record-Route').reverse(),
      localSeq: request.cseq().seq,
      secure: request.uri.kind === 'sip' && request.uri.scheme === 'sips',
    };
    if (localContact !== undefined) init.localContact = localContact;
    return new Dialog(init);
  }

  /**
   * The UAS's dialog from the request and the 101-299 response it sends (which carries the
   * UAS's To tag) (RFC 3261 §12.1.1): route set = Record-Route of the request in order,
   * remote target = the request's Contact, remote CSeq = the request's.
   */
  static asUas(request: SipRequest, response: SipResponse, localContact?: string): Dialog {
    const id = dialogIdOf(response, 'uas');
    if (!id || response.status < 101 || response.status > 299) {
      throw new SipStackError('INVALID_ARGUMENT', 'a dialog needs a 101-299 response with From and To tags');
    }
    const init: DialogInit = {
      id,
      state: response.status >= 200 ? 'confirmed' : 'early',
      localUri: withoutTag(request.to()),
      remoteUri: withoutTag(request.from()),
      remoteTarget: contactTarget(request),
      routeSet: request.getAll('Record-Route'),
      remoteSeq: request.cseq().seq,
      secure: request.uri.kind === 'sip' && request.uri.scheme === 'sips',
    };
    if (localContact !== undefined) init.localContact = localContact;
    return new Dialog(init);
  }

  /** A 2xx for the dialog's INVITE confirms an early dialog; a target refresh updates the target. */
  updateFromResponse(response: SipResponse): void {
    if (response.status >= 200 && response.status < 300 && this.state === 'early') this.state = 'confirmed';
    if (response.status >= 200 && response.status < 300 && response.has('Contact')) this.remoteTarget = contactTarget(response);
  }

  /**
   * Checks an in-dialog request from the peer (RFC 3261 §12.2.2): a CSeq lower than (or,
   * for anything but ACK and CANCEL, equal to) the last one is out of order and gets 500.
   * A target refresh (re-INVITE, UPDATE) updates the remote target.
   */
  acceptRequest(req: SipRequest): { ok: true } | { ok: false; status: 500 } {
    const seq = req.cseq().seq;
    if (req.method !== 'ACK' && req.method !== 'CANCEL') {
      if (this.remoteSeq !== undefined && seq <= this.remoteSeq) return { ok: false, status: 500 };
      this.remoteSeq = seq;
    }
    if ((req.method === 'INVITE' || req.method === 'UPDATE') && req.has('Contact')) this.remoteTarget = contactTarget(req);
    if (req.method === 'BYE') this.state = 'terminated';
    return { ok: true };
  }

  /**
   * A request within the dialog (RFC 3261 §12.2.1.1): To/From with the tags, Call-ID,
   * CSeq = local sequence + 1 (1 when the UAS sends its first request), Max-Forwards, and
   * the Request-URI / Route from the route set: loose routing when the first route has
   * `lr` (Request-URI = remote target), strict routing otherwise (Request-URI = first
   * route, remote target appended to Route). The endpoint adds Via when sending.
   */
  createRequest(method: string): SipRequest {
    if (method === 'ACK' || method === 'CANCEL') {
      throw new SipStackError('INVALID_ARGUMENT', `${method} is not built with createRequest (use createAck / createCancel)`);
    }
    this.localSeq = (this.localSeq ?? 0) + 1;
    return this.build(method, this.localSeq);
  }

  /** The ACK for a 2xx to the INVITE with CSeq `inviteSeq` (RFC 3261 §13.2.2.4). */
  createAck(inviteSeq: number): SipRequest {
    return this.build('ACK', inviteSeq);
  }

  private build(method: string, seq: number): SipRequest {
    const routes = this.routeSet.map((r) => parseNameAddr(r, 'Route', true));
    let uri: Uri;
    let routeValues: string[];
    const first = routes[0];
    if (!first || (first.uri.kind === 'sip' && getUriParam(first.uri, 'lr') !== undefined)) {
      uri = this.remoteTarget;
      routeValues = this.routeSet;
    } else {
      // Strict routing: the first route becomes the Request-URI (without URI headers, which
      // a Request-URI may not carry) and the remote target goes last in Route.
      uri = first.uri.kind === 'sip' ? { ...first.uri, headers: [] } : first.uri;
      routeValues = [...this.routeSet.slice(1), formatNameAddr({ uri: this.remoteTarget, params: [] })];
    }
    const req = new SipRequest(method, structuredClone(uri));
    const to = { ...this.remoteUri, params: [...this.remoteUri.params] };
    setParam(to.params, 'tag', this.id.remoteTag);
    const from = { ...this.localUri, params: [...this.localUri.params] };
    setParam(from.params, 'tag', this.id.localTag);
    req.headers.push({ name: 'Max-Forwards', value: String(DEFAULT_MAX_FORWARDS) });
    req.headers.push({ name: 'To', value: formatNameAddr(to) });
    req.headers.push({ name: 'From', value: formatNameAddr(from) });
    req.headers.push({ name: 'Call-ID', value: this.id.callId });
    req.headers.push({ name: 'CSeq', value: `${seq} ${method}` });
    for (const r of routeValues) req.headers.push({ name: 'Route', value: r });
    if (this.localContact !== undefined && method !== 'ACK' && method !== 'BYE') {
      req.headers.push({ name: 'Contact', value: this.localContact });
    }
    return req;
  }
}

/** The tag parameter of a name-addr value, if any. */
export function tagOf(value: string, header: 'From' | 'To'): string | undefined {
  return getParam(parseNameAddr(value, header).params, 'tag') ?? undefined;
}
