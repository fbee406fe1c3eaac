/**
 * The demo's SIP phones: a small user agent on the project's SIP stack (usages/sip/stack)
 * that REGISTERs an AOR at a peer's SIP front end (RFC 3261 §10.2), refreshes the binding
 * before it expires, and answers every call by itself: 180, then 200 with an SDP answer
 * (RFC 3264), takes the ACK, and answers the BYE with 200 (RFC 3261 §13, §15). Ctrl-C
 * un-REGISTERs it (Expires: 0). So `sipp -sn uac -s alice 127.0.0.1:PORT` against the demo
 * completes a whole call, and a Fetch of alice's SIP-REGISTRATION shows the binding.
 */
import { type Clock, type TimerHandle, systemClock } from '../common/clock.js';
import { cryptoRandom } from '../common/random.js';
import {
  Dialog,
  type NameAddr,
  SipEndpoint,
  SipRequest,
  type SipResponse,
  type ServerTransaction,
  generateCallId,
  generateTag,
  parseNameAddr,
  parseUri,
  uriEquals,
} from '../../usages/sip/stack/index.js';

export interface DemoPhoneOptions {
  /** The AOR, `user@domain`. */
  aor: string;
  /** The front end's UDP address (registrar and outbound proxy). */
  registrar: { host: string; port: number };
  /** Requested registration interval, seconds (RFC 3261 §10.2.1.1). @default 600 */
  expiresS?: number;
  clock?: Clock;
}

/** Calls answered, for the demo's output and the tests. */
export interface DemoPhoneStats {
  registrations: number;
  callsAnswered: number;
  callsEnded: number;
}

export class DemoPhoneError extends Error {
  readonly code = 'ERR_DEMO_PHONE';
  constructor(message: string) {
    super(message);
    this.name = 'DemoPhoneError';
  }
}

export class DemoPhone {
  readonly stats: DemoPhoneStats = { registrations: 0, callsAnswered: 0, callsEnded: 0 };
  private readonly dialogs = new Map<string, Dialog>();
  private readonly regCallId = generateCallId(cryptoRandom, '127.0.0.1');
  private cseq = 1;
  private refresh: TimerHandle | undefined;
  private stopped = false;
  /** Called with a line for every call event (the demo prints them). */
  onEvent: (line: string) => void = () => undefined;

  private constructor(
    private readonly ep: SipEndpoint,
    private readonly opts: Required<Pick<DemoPhoneOptions, 'aor' | 'registrar' | 'expiresS'>> & { clock: Clock },
  ) {
    ep.on('request', (req, tx) => {
      if (!tx) return; // ACK for our 2xx: nothing more to do (RFC 3261 §13.3.1.4)
      if (req.method === 'INVITE') return this.answer(req, tx);
      if (req.method === 'BYE') {
        const d = [...this.dialogs.values()].find((x) => x.id.callId === req.callId());
        if (d) {
          d.acceptRequest(req);
          this.dialogs.delete(d.key);
          this.stats.callsEnded++;
          this.onEvent(`${this.user}: call ${req.callId()} ended by BYE`);
        }
        tx.respond(tx.createResponse(d ? 200 : 481));
        return;
      }
      tx.respond(tx.createResponse(req.method === 'OPTIONS' ? 200 : 405));
    });
  }

  /** Binds UDP on loopback (any free port) and REGISTERs; rejects if the registrar refuses. */
  static async start(opts: DemoPhoneOptions): Promise<DemoPhone> {
    if (!/^[^@\s]+@[^@\s]+$/.test(opts.aor)) throw new DemoPhoneError(`not an AOR (user@domain): ${opts.aor}`);
    const ep = await SipEndpoint.start({ udp: { host: '127.0.0.1', port: 0 }, tcp: false, ...(opts.clock ? { clock: opts.clock } : {}) });
    const phone = new DemoPhone(ep, { aor: opts.aor, registrar: opts.registrar, expiresS: opts.expiresS ?? 600, clock: opts.clock ?? systemClock });
    try {
      await phone.register();
    } catch (err) {
      await ep.stop();
      throw err;
    }
    return phone;
  }

  get user(): string {
    return this.opts.aor.split('@')[0]!;
  }

  /** This phone's Contact (where the front end delivers its calls). */
  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.ep.udpAddress!.port}>`;
  }

  /** REGISTER with this phone's contact; `expires` 0 removes it. Schedules the refresh. */
  async register(expiresS = this.opts.expiresS): Promise<SipResponse> {
    const [, domain] = this.opts.aor.split('@') as [string, string];
    const req = new SipRequest('REGISTER', parseUri(`sip:${domain}`, 'request-uri'));
    req.set('From', `<sip:${this.opts.aor}>;tag=${generateTag(cryptoRandom)}`);
    req.set('To', `<sip:${this.opts.aor}>`);
    req.set('Call-ID', this.regCallId);
    req.set('CSeq', `${this.cseq++} REGISTER`);
    req.set('Contact', this.contact);
    req.set('Expires', String(expiresS));
    req.set('User-Agent', 'reload-node demo phone');
    const res = await this.ep.sendRequest(req, { transport: 'UDP', ...this.opts.registrar }).finalResponse();
    if (res.status !== 200) throw new DemoPhoneError(`REGISTER ${this.opts.aor}: ${res.status} ${res.reason}`);
    this.refresh?.cancel();
    this.refresh = undefined;
    if (expiresS > 0) {
      this.stats.registrations++;
      // Refresh at half the granted interval: the expires of our own binding among those the
      // 200 lists, else its Expires (RFC 3261 §10.2.4: the registrar may shorten it).
      const mine = parseNameAddr(this.contact, 'Contact').uri;
      const own = res.contacts().find((c): c is NameAddr => c !== '*' && uriEquals(c.uri, mine));
      const param = own?.params.find((p) => p.name.toLowerCase() === 'expires')?.value;
      const granted = param != null && /^\d+$/.test(param) ? Number(param) : (res.expires() ?? expiresS);
      this.refresh = this.opts.clock.setTimeout(() => {
        if (!this.stopped) this.register().catch((e: Error) => this.onEvent(`${this.user}: refreshing the registration failed: ${e.message}`));
      }, Math.max(1, granted / 2) * 1000);
    }
    return res;
  }

  private answer(req: SipRequest, tx: ServerTransaction): void {
    if (!req.get('To') || /;\s*tag=/i.test(req.get('To')!)) {
      // A re-INVITE in a dialog we no longer know (§12.2.2).
      tx.respond(tx.createResponse(481));
      return;
    }
    tx.respond(tx.createResponse(180));
    const ok = tx.createResponse(200);
    ok.set('Contact', this.contact);
    ok.setBody(this.sdpAnswer(), 'application/sdp');
    const d = Dialog.asUas(req, ok);
    this.dialogs.set(d.key, d);
    tx.respond(ok);
    this.stats.callsAnswered++;
    this.onEvent(`${this.user}: answered call ${req.callId()} from ${req.get('From') ?? '?'}`);
  }

  private sdpAnswer(): string {
    const v = Math.floor(this.opts.clock.now() / 1000);
    return `v=0\r\no=${this.user} ${v} ${v} IN IP4 127.0.0.1\r\ns=reload-node demo\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n`;
  }

  /** Un-REGISTERs (best effort) and closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.refresh?.cancel();
    try {
      await this.register(0);
    } catch {
      // the front end may be gone already
    }
    await this.ep.stop();
  }
}
