/**
 * Real sipp (SIPp 3.6) as a conference-package subscriber against the notifier over UDP:
 * SUBSCRIBE, 200, full-state NOTIFY, partial NOTIFY after a roster change, unsubscribe in
 * the dialog, terminated NOTIFY. The bodies sipp received are read back from its message
 * log and parsed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SipEndpoint } from '../../../usages/sip/stack/index.js';
import { parseConferenceInfo } from '../../../usages/sdcon/conference-info.js';
import { ConferenceEventNotifier } from '../../../usages/sdcon/event-package.js';
import { ConferenceRoster } from '../../../usages/sdcon/roster.js';
import { freePort, readSippLog, runSipp, tail } from '../sip/sipp-helpers.js';

const SCENARIO = fileURLToPath(new URL('./sipp/subscriber.xml', import.meta.url));

t.test('sipp subscribes, gets full then partial state, unsubscribes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sdcon-sipp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ep = await SipEndpoint.start({ tcp: false });
  const roster = new ConferenceRoster({ conferenceUri: 'sip:standup@dht.example.org', localFocus: { entity: 'sip:standup@127.0.0.1;gr=a' } });
  roster.setEndpoint({ entity: 'sip:alice@dht.example.org', displayText: 'Alice' }, { entity: 'sip:alice@dht.example.org', status: 'connected', media: [] });
  const notifier = new ConferenceEventNotifier({ endpoint: ep, roster, minNotifyIntervalMs: 0 });
  t.teardown(async () => {
    await notifier.stop();
    await ep.stop();
  });
  ep.on('request', (req, tx) => {
    if (!tx) return;
    if (notifier.handleRequestInDialog(req, tx)) return;
    if (req.method === 'SUBSCRIBE') return notifier.handleSubscribe(req, tx);
    tx.respond(tx.createResponse(501));
  });
  const ended: string[] = [];
  notifier.on('terminated', (_s, why) => ended.push(why));
  // A participant joins as soon as sipp is subscribed: its partial NOTIFY follows the full one.
  notifier.on('subscribed', () => roster.setEndpoint({ entity: 'sip:bob@dht.example.org' }, { entity: 'sip:bob@dht.example.org', status: 'dialing-in', media: [] }));

  const log = join(dir, 'sipp.log');
  const port = await freePort();
  const run = await runSipp([
    '-sf', SCENARIO, `127.0.0.1:${ep.udpAddress!.port}`, '-s', 'standup',
    '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-timeout', '20s', '-timeout_error',
    '-trace_msg', '-message_file', log,
  ]);
  t.equal(run.code, 0, `sipp's scenario completed (${tail(run)})`);
  t.same(ended, ['unsubscribed']);
  t.equal(notifier.subscriptionCount, 0);

  const notifies = readSippLog(log).filter((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY'));
  t.equal(notifies.length, 3);
  const docs = notifies.map((m) => parseConferenceInfo(new Uint8Array(m.body)));
  t.same(docs.map((d) => [d.state, d.version]), [['full', 1], ['partial', 2], ['full', 3]]);
  t.same(docs[0]!.users!.list.map((u) => u.entity), ['sip:alice@dht.example.org']);
  t.same(docs[1]!.users!.list.map((u) => [u.entity, u.state]), [['sip:bob@dht.example.org', 'full']]);
  t.match(notifies[0]!.bytes.toString('latin1'), /\r\nSubscription-State: active;expires=60\r\n/);
  t.match(notifies[2]!.bytes.toString('latin1'), /\r\nSubscription-State: terminated\r\n/);
  t.match(notifies[0]!.bytes.toString('latin1'), /\r\nContent-Type: application\/conference-info\+xml\r\n/);
});
