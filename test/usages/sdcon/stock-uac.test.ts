/**
 * Stock `sipp -sn uac` (no custom scenario) calling a conference URI through a SIP front end:
 * its ACK and BYE ignore the dialog's Record-Route and Contact and go to
 * `sip:SERVICE@HOST:PORT` again (To tag, no Route). The front end that carried the INVITE
 * remembers the dialog and steers them to the focus serving it; a front end that never saw
 * the dialog answers 481 (RFC 3261 §12.2.2), not 404. Three peers: p0 routes only (no
 * focus), p1 is the primary focus with capacity 1, p2 is focus-capable: of the two
 * simultaneous calls of each run, the second is delegated to p2 (recruited the first time),
 * so its ACK and BYE must reach p2 — resolving the conference URI again would reach p1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cryptoRandom } from '../../../src/common/random.js';
import { SipEndpoint, SipRequest, type SipResponse, generateBranch, generateCallId, generateTag, parseUri } from '../../../usages/sip/stack/index.js';
import { until } from '../sip/helpers.js';
import { freePort, readSippLog, runSipp, tail } from '../sip/sipp-helpers.js';
import { type DiscoPeer, OVERLAY, discoOverlay, startDiscoPeers } from './helpers.js';

const CONF = `sip:stock-conf-p1@${OVERLAY}`;
const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'disco-stock-uac-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ov = await discoOverlay();
const peers = await startDiscoPeers(ov, [
  { name: 'p0', disco: { focus: false } },
  { name: 'p1', disco: { capacity: 1, conferences: [CONF] } },
  { name: 'p2', disco: { capacity: 2 } },
]);
const [p0, p1, p2] = peers as [DiscoPeer, DiscoPeer, DiscoPeer];
t.teardown(async () => {
  for (const p of [...peers].reverse()) await p.node.stop();
});
const foci = (): DiscoPeer[] => peers.filter((p) => p.disco.conference(CONF) !== undefined);
const rosterSize = (p: DiscoPeer): number => p.disco.conference(CONF)?.roster.merged().users?.list.length ?? 0;

/** Runs stock `sipp -sn uac -m 2` (both calls at once, 1 s each) against a front end; returns the run and its message log. */
async function stockUac(via: DiscoPeer, name: string) {
  const log = join(dir, `${name}.log`);
  const run = await runSipp([
    '-sn', 'uac', `${via.sipAt.host}:${via.sipAt.port}`, '-s', 'stock-conf-p1',
    '-i', '127.0.0.1', '-p', String(await freePort()), '-m', '2', '-l', '2', '-d', '1000', '-nostdin',
    '-timeout', '20s', '-timeout_error', '-trace_msg', '-message_file', log,
  ], 25_000);
  return { run, messages: readSippLog(log) };
}

const finals = (messages: ReturnType<typeof readSippLog>, method: string): string[] =>
  messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0') && new RegExp(`\\r\\nCSeq: *\\d+ ${method}\\r\\n`, 'i').test(m.bytes.toString('latin1'))).map((m) => m.startLine.split(' ')[1]!);

for (const [via, what] of [
  [p0, 'a front end that is no focus (forwards the INVITE to the focus)'],
  [p1, 'the focus’ own front end'],
] as const) {
  t.test(`stock sipp uac through ${via.name}: ${what}`, async (t) => {
    const stats = () => {
      const all = foci().map((p) => p.disco.conference(CONF)!.focus.stats);
      const sum = (k: 'accepted' | 'acks' | 'byes' | 'noAck'): number => all.reduce((n, s) => n + s[k], 0);
      return { accepted: sum('accepted'), acks: sum('acks'), byes: sum('byes'), noAck: sum('noAck'), p2: p2.disco.conference(CONF)?.focus.stats.accepted ?? 0 };
    };
    const before = stats();
    const { run, messages } = await stockUac(via, `uac-${via.name}`);
    t.equal(run.code, 0, `both calls completed (${tail(run, 300)})`);
    t.same(finals(messages, 'INVITE').filter((s) => s.startsWith('2')), ['200', '200'], 'both INVITEs answered 200');
    t.same(finals(messages, 'BYE'), ['200', '200'], 'both BYEs answered 200 (not 404)');
    const after = stats();
    t.equal(after.accepted - before.accepted, 2, 'the foci answered two calls');
    t.equal(after.p2 - before.p2, 1, 'p1 (capacity 1) delegated the second call to p2');
    t.equal(after.acks - before.acks, 2, 'both ACKs (sent to the initial Request-URI) reached the focus serving the call');
    t.equal(after.byes - before.byes, 2, 'both BYEs reached the focus serving the call');
    t.equal(after.noAck, 0, 'no call was given up for want of an ACK');
    for (const p of foci()) t.equal(p.disco.conference(CONF)!.participants, 0, `${p.name} serves no one afterwards (its places are free)`);
    await until('the rosters are empty', () => foci().every((p) => rosterSize(p) === 0), 10_000);
    for (const p of foci()) t.equal(rosterSize(p), 0, `${p.name}'s merged roster is empty`);
    if (via === p0) t.equal(p0.sip.frontEnd!.dialogCount, 0, 'the front end forgot both dialogs after their BYEs');
  });
}

/** A UA on its own endpoint that, like stock sipp, sends every request to `sip:stock-conf-p1@<front end>`. */
class StockUa {
  private cseq = 1;
  readonly callId = generateCallId(cryptoRandom, '127.0.0.1');
  private readonly from: string;
  private to = '';
  constructor(
    readonly ep: SipEndpoint,
    readonly user: string,
  ) {
    this.from = `<sip:${user}@${OVERLAY}>;tag=${generateTag(cryptoRandom)}`;
  }

  private request(method: string, via: DiscoPeer): SipRequest {
    const uri = `sip:stock-conf-p1@${via.sipAt.host}:${via.sipAt.port}`;
    const req = new SipRequest(method, parseUri(uri, 'request-uri'));
    req.set('From', this.from);
    req.set('To', this.to || `<${uri}>`);
    req.set('Call-ID', this.callId);
    req.set('CSeq', `${method === 'ACK' ? this.cseq : ++this.cseq} ${method}`);
    req.set('Contact', `<sip:${this.user}@127.0.0.1:${this.ep.udpAddress!.port}>`);
    return req;
  }

  async invite(via: DiscoPeer): Promise<SipResponse> {
    this.cseq = 0;
    const res = await this.ep.sendRequest(this.request('INVITE', via), { transport: 'UDP', ...via.sipAt }).finalResponse();
    if (res.status === 200) this.to = res.get('To')!;
    return res;
  }

  ack(via: DiscoPeer): Promise<void> {
    return this.ep.sendStateless(this.request('ACK', via), { transport: 'UDP', ...via.sipAt }, { branch: generateBranch(cryptoRandom) });
  }

  bye(via: DiscoPeer): Promise<SipResponse> {
    return this.ep.sendRequest(this.request('BYE', via), { transport: 'UDP', ...via.sipAt }).finalResponse();
  }
}

t.test('in-dialog requests at front ends that never carried the dialog: passed on by the primary’s roster, else 481', async (t) => {
  const ep = await SipEndpoint.start({ udp: { host: '127.0.0.1', port: 0 }, tcp: false });
  t.teardown(() => ep.stop());
  /** The focus peer serving a call, and its participant entry. */
  const servedBy = (ua: StockUa) => {
    for (const p of foci()) {
      const x = [...p.disco.conference(CONF)!.focus.participants.values()].find((q) => q.dialog.id.callId === ua.callId);
      if (x) return { peer: p, participant: x };
    }
    return undefined;
  };
  const calls = [new StockUa(ep, 'first'), new StockUa(ep, 'second')];
  for (const ua of calls) {
    t.equal((await ua.invite(p0)).status, 200, `the ${ua.user} call (through p0) is answered`);
    // The ACK and the BYE go to the front end of a focus that does not serve the call, and
    // that never carried its dialog.
    const served = servedBy(ua);
    const other = served?.peer === p1 ? p2 : p1;
    t.ok(served, `${served?.peer.name} serves it; its ACK and BYE go through ${other.name}`);
    await until(`${other.name}'s merged roster lists the ${ua.user} call`, () => rosterSize(other) === calls.indexOf(ua) + 1, 10_000);
    await ua.ack(other);
    await until(`the ACK through ${other.name} reached ${served?.peer.name} (${other.name}'s roster names it)`, () => servedBy(ua)?.participant.acked === true, 5_000);
  }
  t.equal(foci().reduce((n, p) => n + p.disco.conference(CONF)!.participants, 0), 2, 'the two calls are served');
  for (const ua of calls) {
    const served = servedBy(ua)!.peer;
    const other = served === p1 ? p2 : p1;
    const res = await ua.bye(other);
    t.equal(res.status, 200, `the ${ua.user} call's BYE through ${other.name} reached ${served.name}: ${res.status} ${res.reason}`);
    t.notOk(servedBy(ua), `${served.name} no longer serves the ${ua.user} call`);
  }
  await until('the rosters are empty', () => foci().every((p) => rosterSize(p) === 0), 10_000);
  const strayBye = (via: DiscoPeer): Promise<SipResponse> => {
    const uri = `sip:stock-conf-p1@${via.sipAt.host}:${via.sipAt.port}`;
    const bye = new SipRequest('BYE', parseUri(uri, 'request-uri'));
    bye.set('From', `<sip:stray@${OVERLAY}>;tag=${generateTag(cryptoRandom)}`);
    bye.set('To', `<${uri}>;tag=${generateTag(cryptoRandom)}`);
    bye.set('Call-ID', generateCallId(cryptoRandom, '127.0.0.1'));
    bye.set('CSeq', '2 BYE');
    return ep.sendRequest(bye, { transport: 'UDP', ...via.sipAt }).finalResponse();
  };
  for (const via of [p2, p0]) {
    const res = await strayBye(via);
    t.equal(res.status, 481, `a BYE of an unknown dialog through ${via.name} (it asks the primary): ${res.status} ${res.reason}`);
  }
  t.comment(`wall time ${Date.now() - started} ms`);
});
