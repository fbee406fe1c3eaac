/**
 * The conference event package over real UDP on 127.0.0.1: one focus (A) runs the
 * notifier, another (B) subscribes to it. Initial full NOTIFY, partial NOTIFYs after
 * changes, refresh, unsubscribe, version-gap recovery, the 489 / 406 / 423 / 481 / 400
 * answers, fetch and expiry, and the 'unreachable' report when A's endpoint is gone.
 */
import t, { type Test } from 'tap';
import {
  type ServerTransaction,
  SipEndpoint,
  SipParseError,
  SipRequest,
  type SipResponse,
  generateCallId,
  generateTag,
  parseUri,
} from '../../../usages/sip/stack/index.js';
import { cryptoRandom } from '../../../src/common/random.js';
import { type ConferenceInfo, encodeConferenceInfo, parseConferenceInfo } from '../../../usages/sdcon/conference-info.js';
import {
  CONFERENCE_EVENT,
  ConferenceEventNotifier,
  type ConferenceEventNotifierInit,
  ConferenceEventSubscriber,
  type ConferenceEventSubscriberInit,
  type NotifierTerminationReason,
  type UnreachableReport,
  parseEventHeader,
  parseSubscriptionState,
} from '../../../usages/sdcon/event-package.js';
import { ConferenceRoster } from '../../../usages/sdcon/roster.js';
import { pause, waitFor } from '../sip/stack/net-helpers.js';

const CONF = 'sip:standup-conf-alice@dht.example.org';
const FA = 'sip:standup-conf-alice@127.0.0.1;gr=focusA';
const FB = 'sip:standup-conf-alice@127.0.0.1;gr=focusB';

interface Seen {
  method: string;
  state: string | undefined;
  doc: ConferenceInfo | undefined;
  expires: string | undefined;
}

function parseOrUndefined(body: Uint8Array): ConferenceInfo | undefined {
  try {
    return parseConferenceInfo(body);
  } catch {
    return undefined;
  }
}

function seen(req: SipRequest): Seen {
  return {
    method: req.method,
    state: req.get('Subscription-State'),
    doc: parseOrUndefined(req.body),
    expires: req.get('Expires'),
  };
}

type Intercept = (req: SipRequest, tx: ServerTransaction) => boolean;

async function focusA(t: Test, opts: Partial<ConferenceEventNotifierInit> = {}, intercept?: { fn?: Intercept }, tcp = false) {
  const ep = await SipEndpoint.start(tcp ? { udp: false } : { tcp: false });
  const roster = new ConferenceRoster({ conferenceUri: CONF, localFocus: { entity: FA, nodeId: '0a' }, description: { subject: 'Stand-up' } });
  roster.setEndpoint({ entity: 'sip:alice@dht.example.org', displayText: 'Alice' }, { entity: 'sip:alice@dht.example.org', status: 'connected', joiningMethod: 'focus-owner', media: [{ id: '1', type: 'audio', status: 'sendrecv' }] });
  // Teardown stops B before A: A's final NOTIFYs then go unanswered, so do not wait long.
  const notifier = new ConferenceEventNotifier({ endpoint: ep, roster, minNotifyIntervalMs: 0, minExpiresS: 1, stopWaitMs: 200, ...opts });
  t.teardown(async () => {
    await notifier.stop();
    await ep.stop();
  });
  const requests: SipRequest[] = [];
  const terminated: NotifierTerminationReason[] = [];
  notifier.on('terminated', (_s, why) => terminated.push(why));
  // The wiring documented in event-package.ts.
  ep.on('request', (req, tx) => {
    requests.push(req);
    if (!tx) return;
    if (intercept?.fn?.(req, tx)) return;
    if (notifier.handleRequestInDialog(req, tx)) return;
    if (req.method === 'SUBSCRIBE') return notifier.handleSubscribe(req, tx);
    tx.respond(tx.createResponse(501));
  });
  const port = (tcp ? ep.tcpAddress : ep.udpAddress)!.port;
  return { ep, roster, notifier, requests, terminated, port, uri: `sip:standup-conf-alice@127.0.0.1:${port}${tcp ? ';transport=tcp' : ''}` };
}

async function focusB(t: Test, target: { uri: string }, opts: Partial<ConferenceEventSubscriberInit> = {}, t1?: number, tcp = false) {
  const ep = await SipEndpoint.start({ ...(tcp ? { udp: false } : { tcp: false }), ...(t1 ? { timers: { T1_MS: t1 } } : {}) });
  const roster = new ConferenceRoster({ conferenceUri: CONF, localFocus: { entity: FB } });
  const sub = new ConferenceEventSubscriber({ endpoint: ep, roster, focusUri: target.uri, focusId: FA, ...opts });
  t.teardown(async () => {
    await sub.stop();
    await ep.stop();
  });
  const notifies: Seen[] = [];
  const unreachable: UnreachableReport[] = [];
  sub.on('unreachable', (r) => unreachable.push(r));
  ep.on('request', (req, tx) => {
    if (!tx) return;
    if (req.method === 'NOTIFY') notifies.push(seen(req));
    if (sub.handleRequest(req, tx)) return;
    tx.respond(tx.createResponse(481));
  });
  return { ep, roster, sub, notifies, unreachable };
}

/** A bare client endpoint that sends hand-made SUBSCRIBEs and records the NOTIFYs it gets. */
async function rawClient(t: Test) {
  const ep = await SipEndpoint.start({ tcp: false });
  t.teardown(() => ep.stop());
  const notifies: Seen[] = [];
  let answer = 200;
  ep.on('request', (req, tx: ServerTransaction | undefined) => {
    if (!tx) return;
    notifies.push(seen(req));
    tx.respond(tx.createResponse(answer));
  });
  const contact = `<sip:client@127.0.0.1:${ep.udpAddress!.port}>`;
  const subscribe = (to: string, port: number, headers: Record<string, string>, dialog?: { callId: string; fromTag: string; toTag?: string; cseq: number }): Promise<SipResponse> => {
    const req = new SipRequest('SUBSCRIBE', parseUri(to, 'request-uri'));
    req.set('To', dialog?.toTag ? `<${to}>;tag=${dialog.toTag}` : `<${to}>`);
    req.set('From', `<sip:client@127.0.0.1>;tag=${dialog?.fromTag ?? generateTag(cryptoRandom)}`);
    req.set('Call-ID', dialog?.callId ?? generateCallId(cryptoRandom));
    req.set('CSeq', `${dialog?.cseq ?? 1} SUBSCRIBE`);
    req.set('Contact', contact);
    for (const [k, v] of Object.entries(headers)) req.set(k, v);
    return ep.sendRequest(req, { transport: 'UDP', host: '127.0.0.1', port }).finalResponse();
  };
  return { ep, notifies, subscribe, setAnswer: (s: number) => (answer = s) };
}

t.test('subscribe: 200, an immediate full NOTIFY, then partial NOTIFYs as A\'s roster changes', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a);
  const updated: string[] = [];
  b.sub.on('updated', (r) => updated.push(r.outcome));
  const outcome = await b.sub.start();
  t.same(outcome, { ok: true });
  t.equal(b.sub.state, 'active');
  t.equal(a.notifier.subscriptionCount, 1);
  const sub = a.requests.find((r) => r.method === 'SUBSCRIBE')!;
  t.equal(sub.get('Event'), CONFERENCE_EVENT);
  t.equal(sub.get('Accept'), 'application/conference-info+xml');
  t.equal(sub.get('Expires'), '3600');
  t.equal(b.notifies.length, 1);
  const first = b.notifies[0]!;
  t.equal(first.doc?.state, 'full', 'the NOTIFY answering a SUBSCRIBE carries full state (RFC 4575 §3.2)');
  t.equal(first.doc?.version, 1);
  t.match(first.state, /^active;expires=(3600|3599)$/);
  t.same(first.doc?.users?.list.map((u) => u.entity), ['sip:alice@dht.example.org']);
  t.same(first.doc?.users?.list[0]?.endpoints[0]?.focus, { entity: FA, nodeId: '0a' });
  t.same(b.roster.remoteEndpoints(FA).map((e) => e.endpoint.entity), ['sip:alice@dht.example.org']);
  t.same(b.roster.merged().users?.list.map((u) => u.entity), ['sip:alice@dht.example.org'], 'B\'s merged roster has A\'s participant');

  // A change at A: one partial NOTIFY, version 2.
  a.roster.setEndpoint({ entity: 'sip:bob@dht.example.org', displayText: 'Bob' }, { entity: 'sip:bob@dht.example.org', status: 'connected', joiningMethod: 'dialed-in', media: [] });
  t.ok(await waitFor(() => b.notifies.length === 2), 'partial NOTIFY arrives');
  const second = b.notifies[1]!;
  t.equal(second.doc?.state, 'partial');
  t.equal(second.doc?.version, 2);
  t.same(second.doc?.users?.list.map((u) => [u.entity, u.state]), [['sip:bob@dht.example.org', 'full']], 'only the change');
  t.equal(second.doc?.conferenceState?.userCount, 2);
  t.same(b.roster.remoteEndpoints(FA).map((e) => e.endpoint.entity).sort(), ['sip:alice@dht.example.org', 'sip:bob@dht.example.org']);

  // Bob leaves: endpoint changed, then removed (coalesced or not, B ends up consistent).
  a.roster.updateEndpoint('sip:bob@dht.example.org', 'sip:bob@dht.example.org', { status: 'disconnected', disconnectionMethod: 'departed' });
  t.ok(await waitFor(() => b.notifies.length === 3));
  t.same(b.notifies[2]!.doc?.users?.list[0]?.endpoints[0], { entity: 'sip:bob@dht.example.org', state: 'partial', status: 'disconnected', disconnectionMethod: 'departed', media: [] });
  a.roster.removeEndpoint('sip:bob@dht.example.org', 'sip:bob@dht.example.org');
  t.ok(await waitFor(() => b.notifies.length === 4));
  t.same(b.notifies[3]!.doc?.users?.list, [{ entity: 'sip:bob@dht.example.org', state: 'deleted', endpoints: [] }]);
  t.same(b.roster.remoteEndpoints(FA).map((e) => e.endpoint.entity), ['sip:alice@dht.example.org']);
  t.same(b.notifies.map((n) => n.doc?.version), [1, 2, 3, 4], 'version +1 per NOTIFY');
  t.same(updated, ['applied', 'applied', 'applied', 'applied']);
});

t.test('rate limit: changes inside the minimum interval are coalesced into one partial NOTIFY; notifyAll sends at once', async (t) => {
  const a = await focusA(t, { minNotifyIntervalMs: 1000 });
  const b = await focusB(t, a);
  t.same(await b.sub.start(), { ok: true });
  for (let i = 0; i < 5; i++) a.roster.setEndpoint({ entity: `sip:u${i}@x` }, { entity: `sip:u${i}@x`, status: 'connected', media: [] });
  await pause(150);
  t.equal(b.notifies.length, 1, 'nothing yet inside the interval');
  t.ok(await waitFor(() => b.notifies.length === 2, 3000));
  t.equal(b.notifies[1]!.doc?.users?.list.length, 5, 'five changes in one NOTIFY');
  await pause(100);
  t.equal(b.notifies.length, 2);
  a.roster.setEndpoint({ entity: 'sip:late@x' }, { entity: 'sip:late@x', status: 'connected', media: [] });
  a.notifier.notifyAll();
  t.ok(await waitFor(() => b.notifies.length === 3, 300), 'notifyAll does not wait for the interval');
  t.equal(b.roster.remoteEndpoints(FA).length, 7);
});

t.test('refresh within the dialog: 200 and a full NOTIFY; unsubscribe ends with terminated', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a, { expiresS: 2 });
  t.same(await b.sub.start(), { ok: true });
  t.match(b.notifies[0]!.state, /^active;expires=[12]$/);
  // The refresh goes halfway through the 2 s subscription.
  t.ok(await waitFor(() => a.requests.filter((r) => r.method === 'SUBSCRIBE').length === 2, 3000), 'refresh SUBSCRIBE sent');
  const refresh = a.requests.filter((r) => r.method === 'SUBSCRIBE')[1]!;
  t.ok(refresh.toTag(), 'the refresh is within the dialog (To tag)');
  t.equal(refresh.cseq().seq, 2);
  t.ok(await waitFor(() => b.notifies.length === 2));
  t.equal(b.notifies[1]!.doc?.state, 'full', 'a refresh brings full state');
  t.equal(b.notifies[1]!.doc?.version, 2);
  t.equal(a.notifier.subscriptionCount, 1);
  t.equal(b.sub.state, 'active');

  await b.sub.stop();
  t.equal(b.sub.state, 'terminated');
  const unsub = a.requests.filter((r) => r.method === 'SUBSCRIBE').at(-1)!;
  t.equal(unsub.get('Expires'), '0');
  t.ok(await waitFor(() => a.terminated.length === 1));
  t.same(a.terminated, ['unsubscribed']);
  t.equal(a.notifier.subscriptionCount, 0);
  const last = b.notifies.at(-1)!;
  t.equal(last.state, 'terminated');
  t.equal(last.doc?.state, 'full');
  a.roster.setEndpoint({ entity: 'sip:x@x' }, { entity: 'sip:x@x', status: 'connected', media: [] });
  await pause(100);
  t.equal(b.notifies.filter((n) => n.state?.startsWith('active')).length, 2, 'no NOTIFY after the unsubscribe');
});

t.test('a version gap makes the subscriber refresh for full state', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a);
  t.same(await b.sub.start(), { ok: true });
  // Inject a partial NOTIFY with version 5 (the subscriber is at 1) through A's dialog.
  const dialog = a.notifier.subscriptions()[0]!.dialog;
  const notify = dialog.createRequest('NOTIFY');
  notify.set('Event', 'conference');
  notify.set('Subscription-State', 'active;expires=600');
  notify.setBody(encodeConferenceInfo({ entity: CONF, version: 5, state: 'partial', users: { state: 'partial', list: [{ entity: 'sip:ghost@x', state: 'full', endpoints: [] }] } }), 'application/conference-info+xml');
  const res = await a.ep.sendRequest(notify, { transport: 'UDP', host: '127.0.0.1', port: b.ep.udpAddress!.port }).finalResponse();
  t.equal(res.status, 200);
  t.ok(await waitFor(() => a.requests.filter((r) => r.method === 'SUBSCRIBE').length === 2), 'the gap triggers a refresh SUBSCRIBE');
  t.ok(await waitFor(() => b.notifies.length === 3));
  const full = b.notifies[2]!;
  t.equal(full.doc?.state, 'full');
  t.equal(full.doc?.version, 2, 'the notifier\'s own sequence continues');
  t.notOk(b.roster.merged().users?.list.some((u) => u.entity === 'sip:ghost@x'), 'the gapped document was not applied');
  t.equal(b.roster.remoteVersion(FA), 2);
});

t.test('notifier answers: 489, 406, 423, 400, 481, fetch, expiry with reason=timeout', async (t) => {
  const a = await focusA(t, { minExpiresS: 60, maxExpiresS: 600 });
  const c = await rawClient(t);
  const base = { Event: 'conference' };
  const bad = await c.subscribe(a.uri, a.port, { Event: 'presence' });
  t.equal(bad.status, 489);
  t.equal(bad.get('Allow-Events'), 'conference');
  t.equal((await c.subscribe(a.uri, a.port, {})).status, 489, 'no Event header: 489');
  t.equal((await c.subscribe(a.uri, a.port, { Event: 'Conference' })).status, 489, 'event types are case-sensitive');
  const na = await c.subscribe(a.uri, a.port, { ...base, Accept: 'application/pidf+xml' });
  t.equal(na.status, 406);
  t.equal(na.get('Accept'), 'application/conference-info+xml');
  t.equal((await c.subscribe(a.uri, a.port, { ...base, Accept: 'application/*, text/plain', Expires: '60' })).status, 200, 'a media range admits it');
  const brief = await c.subscribe(a.uri, a.port, { ...base, Expires: '10' });
  t.equal(brief.status, 423);
  t.equal(brief.get('Min-Expires'), '60');
  const long = await c.subscribe(a.uri, a.port, { ...base, Expires: '100000' });
  t.equal(long.status, 200);
  t.equal(long.get('Expires'), '600', 'shortened to the maximum');
  t.match(long.get('Contact'), /;isfocus$/, 'the focus marks its Contact (RFC 4579)');
  const dflt = await c.subscribe(a.uri, a.port, base);
  t.equal(dflt.get('Expires'), '600', 'no Expires: the 3600 s default, capped by the maximum');
  t.equal((await c.subscribe(a.uri, a.port, { ...base, Event: 'conference;;' })).status, 400, 'malformed Event: 400');
  const unknown = await c.subscribe(a.uri, a.port, base, { callId: 'nope', fromTag: 'f', toTag: 'unknown', cseq: 2 });
  t.equal(unknown.status, 481, 'refresh of an unknown subscription');
  t.equal(a.notifier.subscriptionCount, 3);

  // Fetch: Expires 0 on a new subscription → one NOTIFY with state, terminated.
  const before = c.notifies.length;
  const fetch = await c.subscribe(a.uri, a.port, { ...base, Expires: '0' });
  t.equal(fetch.status, 200);
  t.ok(await waitFor(() => c.notifies.length > before && c.notifies.some((n) => n.state === 'terminated;reason=timeout')));
  const f = c.notifies.find((n) => n.state === 'terminated;reason=timeout')!;
  t.equal(f.doc?.state, 'full');
  t.equal(a.notifier.subscriptionCount, 3);

  // A subscriber answering 481 is dropped.
  c.setAnswer(481);
  a.roster.setEndpoint({ entity: 'sip:z@x' }, { entity: 'sip:z@x', status: 'connected', media: [] });
  t.ok(await waitFor(() => a.notifier.subscriptionCount === 0), 'NOTIFY answered 481 removes the subscription (RFC 6665 §4.2.2)');
  t.equal(a.terminated.filter((x) => x === 'rejected').length, 3);
});

t.test('expiry: terminated;reason=timeout when not refreshed', async (t) => {
  const a = await focusA(t, { minExpiresS: 1 });
  const c = await rawClient(t);
  const res = await c.subscribe(a.uri, a.port, { Event: 'conference', Expires: '1' });
  t.equal(res.status, 200);
  t.equal(res.get('Expires'), '1');
  t.ok(await waitFor(() => c.notifies.some((n) => n.state === 'terminated;reason=timeout'), 3000));
  t.same(a.terminated, ['timeout']);
  t.equal(a.notifier.subscriptionCount, 0);
  t.equal(c.notifies[0]!.state, 'active;expires=1');
});

t.test('the subscriber retries a 423 with Min-Expires', async (t) => {
  const a = await focusA(t, { minExpiresS: 120 });
  const b = await focusB(t, a, { expiresS: 30 });
  t.same(await b.sub.start(), { ok: true });
  const subs = a.requests.filter((r) => r.method === 'SUBSCRIBE');
  t.same(subs.map((r) => r.get('Expires')), ['30', '120']);
  t.same(subs.map((r) => r.cseq().seq), [1, 2]);
});

t.test('stop() on the notifier ends subscriptions with reason=noresource; the subscriber reports terminated', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a);
  const ended: string[] = [];
  b.sub.on('terminated', (r) => ended.push(`${r.cause}:${r.reason}`));
  t.same(await b.sub.start(), { ok: true });
  await a.notifier.stop();
  t.ok(await waitFor(() => ended.length === 1));
  t.same(ended, ['notifier:noresource']);
  t.equal(b.sub.state, 'terminated');
  t.equal(b.notifies.at(-1)!.state, 'terminated;reason=noresource');
  const c = await rawClient(t);
  t.equal((await c.subscribe(a.uri, a.port, { Event: 'conference' })).status, 480, 'a stopped notifier takes no new subscriptions');
});

t.test('terminated;reason=deactivated: the subscriber subscribes again at once (here refused: 480 → unreachable)', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a);
  t.same(await b.sub.start(), { ok: true });
  const firstCallId = a.requests.find((r) => r.method === 'SUBSCRIBE')!.callId();
  await a.notifier.stop('deactivated');
  t.ok(await waitFor(() => b.unreachable.length === 1));
  const subs = a.requests.filter((r) => r.method === 'SUBSCRIBE');
  t.equal(subs.length, 2, 'a new SUBSCRIBE');
  t.not(subs[1]!.callId(), firstCallId, 'in a new dialog');
  t.notOk(subs[1]!.toTag(), 'out of dialog');
  t.same(b.unreachable[0], { cause: 'status', status: 480, during: 'subscribe' });
});

t.test('unreachable: Timer N fires when the 200 comes but no NOTIFY follows', async (t) => {
  // A notifier that accepts and then stays silent.
  const silent = await SipEndpoint.start({ tcp: false });
  t.teardown(() => silent.stop());
  silent.on('request', (req, tx) => {
    if (!tx) return;
    const res = tx.createResponse(200);
    res.set('Contact', `<sip:silent@127.0.0.1:${silent.udpAddress!.port}>`);
    res.set('Expires', req.get('Expires') ?? '3600');
    tx.respond(res);
  });
  const b = await focusB(t, { uri: `sip:conf@127.0.0.1:${silent.udpAddress!.port}` }, {}, 20); // Timer N = 64 x 20 ms
  const began = Date.now();
  const outcome = await b.sub.start();
  t.same(outcome, { ok: false, report: { cause: 'timer-n', during: 'notify-wait' } });
  t.same(b.unreachable, [{ cause: 'timer-n', during: 'notify-wait' }]);
  t.ok(Date.now() - began >= 1200, 'not before 64*T1');
});

t.test('unreachable: a subscription refresh that never gets an answer', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a, { expiresS: 1 }, 40);
  t.same(await b.sub.start(), { ok: true });
  await a.ep.stop(); // gone without a word
  t.ok(await waitFor(() => b.unreachable.length === 1, 8000));
  t.same(b.unreachable[0], { cause: 'timeout', during: 'refresh' });
});

t.test('unreachable: a refresh answered 481 (the notifier lost the subscription)', async (t) => {
  const intercept: { fn?: Intercept } = {};
  const a = await focusA(t, {}, intercept);
  const b = await focusB(t, a, { expiresS: 1 });
  t.same(await b.sub.start(), { ok: true });
  intercept.fn = (req, tx) => {
    if (req.method !== 'SUBSCRIBE' || !req.toTag()) return false;
    tx.respond(tx.createResponse(481));
    return true;
  };
  t.ok(await waitFor(() => b.unreachable.length === 1, 3000));
  t.same(b.unreachable[0], { cause: 'status', status: 481, during: 'refresh' });
  t.equal(b.sub.state, 'terminated');
});

t.test('over TCP: NOTIFYs come back on the SUBSCRIBE\'s connection', async (t) => {
  const a = await focusA(t, {}, undefined, true);
  const b = await focusB(t, a, {}, undefined, true);
  t.same(await b.sub.start(), { ok: true });
  const sub = a.requests.find((r) => r.method === 'SUBSCRIBE')!;
  t.equal(sub.received?.transport, 'TCP');
  t.match(sub.get('Contact'), /;transport=tcp>$/, 'the subscriber\'s Contact names TCP');
  a.roster.setEndpoint({ entity: 'sip:bob@x' }, { entity: 'sip:bob@x', status: 'connected', media: [] });
  t.ok(await waitFor(() => b.notifies.length === 2));
  t.equal(b.ep.connections('TCP').length, 1, 'one connection carries both directions');
  t.equal(a.ep.connections('TCP').length, 1);
  t.same(b.roster.remoteEndpoints(FA).map((e) => e.endpoint.entity).sort(), ['sip:alice@dht.example.org', 'sip:bob@x']);
  await b.sub.stop();
  t.ok(await waitFor(() => a.terminated.length === 1));
  t.same(a.terminated, ['unsubscribed']);
});

t.test('the subscriber answers stray or broken NOTIFYs without applying them', async (t) => {
  const a = await focusA(t);
  const b = await focusB(t, a);
  t.same(await b.sub.start(), { ok: true });
  const dialog = a.notifier.subscriptions()[0]!.dialog;
  const send = async (mutate: (r: SipRequest) => void): Promise<number> => {
    const n = dialog.createRequest('NOTIFY');
    n.set('Event', 'conference');
    n.set('Subscription-State', 'active;expires=100');
    mutate(n);
    return (await a.ep.sendRequest(n, { transport: 'UDP', host: '127.0.0.1', port: b.ep.udpAddress!.port }).finalResponse()).status;
  };
  const notifyRes = async (mutate: (r: SipRequest) => void): Promise<SipResponse> => {
    const n = dialog.createRequest('NOTIFY');
    n.set('Event', 'conference');
    n.set('Subscription-State', 'active;expires=100');
    mutate(n);
    return a.ep.sendRequest(n, { transport: 'UDP', host: '127.0.0.1', port: b.ep.udpAddress!.port }).finalResponse();
  };
  const badDoc = await notifyRes((n) => n.setBody('<conference-info xmlns="urn:x"/>', 'application/conference-info+xml'));
  t.equal(badDoc.status, 400, 'wrong namespace: 400');
  t.match(badDoc.reason, /^Bad Request - conference-info conference-info: root element/, 'the reason names the problem');
  t.equal(await send((n) => n.setBody('{}', 'application/json')), 415);
  t.equal(await send((n) => n.set('Event', 'presence')), 489);
  t.equal(await send((n) => n.remove('Subscription-State')), 400);
  const ok = await send(() => undefined);
  t.equal(ok, 200, 'a NOTIFY without a body is fine');
  t.equal(b.roster.remoteEndpoints(FA).length, 1, 'nothing applied');
});

t.test('header helpers', async (t) => {
  t.same(parseEventHeader('conference;id=42'), { package: 'conference', id: '42', params: [{ name: 'id', value: '42' }] });
  t.throws(() => parseEventHeader(''), new SipParseError('BAD_HEADER_VALUE', 'expected an event type token', 'Event'));
  t.same(parseSubscriptionState('Terminated;reason=Timeout;retry-after=30'), { state: 'terminated', reason: 'timeout', retryAfter: 30 });
  t.same(parseSubscriptionState('active;expires=600'), { state: 'active', expires: 600 });
  t.throws(() => parseSubscriptionState('active;expires=soon'), new SipParseError('BAD_HEADER_VALUE', 'expires is not delta-seconds', 'Subscription-State'));
});
