/**
 * The front end's memory of dialogs it carried for UAs (dialog-memory.ts): steering an
 * in-dialog request sent without the route set, idle expiry on the Clock, forgetting on BYE,
 * 481 and 408.
 */
import t from 'tap';
import { VirtualClock } from '../../../src/common/clock.js';
import { DialogMemory } from '../../../usages/sip/dialog-memory.js';
import { type SipRequest, type SipResponse, type Uri, formatUri, parseMessage } from '../../../usages/sip/stack/index.js';

const OWN = '127.0.0.1:5070';
const isOwn = (u: Uri): boolean => formatUri(u).includes(OWN);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));

function invite(): SipRequest {
  return parseMessage(enc(`INVITE sip:room@${OWN} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-1
From: <sip:a@example.org>;tag=ft
To: <sip:room@${OWN}>
Call-ID: c1
CSeq: 1 INVITE
Max-Forwards: 70
Content-Length: 0

`)) as SipRequest;
}

function ok(): SipResponse {
  return parseMessage(enc(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-1
Record-Route: <sip:${OWN};lr>
Record-Route: <sip:node-00@127.0.0.1:7000;transport=tls;lr>
Record-Route: <sip:127.0.0.9:5080;lr>
From: <sip:a@example.org>;tag=ft
To: <sip:room@${OWN}>;tag=tt
Call-ID: c1
CSeq: 1 INVITE
Contact: <sip:focus@127.0.0.9:5080;gr=x>
Content-Length: 0

`)) as SipResponse;
}

function inDialog(method: string, extra = ''): SipRequest {
  return parseMessage(enc(`${method} sip:room@${OWN} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-2
From: <sip:a@example.org>;tag=ft
To: <sip:room@${OWN}>;tag=tt
Call-ID: c1
CSeq: 2 ${method}
Max-Forwards: 70
${extra}Content-Length: 0

`)) as SipRequest;
}

t.test('steers a request without Route to the remote target along the route set beyond this proxy', async (t) => {
  const clock = new VirtualClock();
  const m = new DialogMemory(clock, 10_000);
  // The first Record-Route is this proxy's own; node-00 and 127.0.0.9 are downstream.
  m.remember(invite(), ok(), isOwn);
  t.equal(m.size, 1);
  const bye = inDialog('BYE');
  t.ok(m.steer(bye), 'steered');
  t.equal(formatUri(bye.uri), 'sip:focus@127.0.0.9:5080;gr=x', 'Request-URI = the 2xx Contact');
  t.same(bye.routes().map((r) => formatUri(r.uri)), ['sip:node-00@127.0.0.1:7000;transport=tls;lr', 'sip:127.0.0.9:5080;lr'], 'Route = the Record-Route after the own entry');
  const routed = inDialog('INFO', 'Route: <sip:127.0.0.9:5080;lr>\n');
  t.notOk(m.steer(routed), 'a request with a Route is left alone');
  const reverse = parseMessage(enc(`BYE sip:a@127.0.0.1:6000 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.9:5080;branch=z9hG4bK-3
From: <sip:room@${OWN}>;tag=tt
To: <sip:a@example.org>;tag=ft
Call-ID: c1
CSeq: 1 BYE
Content-Length: 0

`)) as SipRequest;
  t.notOk(m.steer(reverse), 'the callee→caller direction is not steered');
  m.finalFor(bye, 200);
  t.equal(m.size, 0, 'forgotten once the BYE has its final response');
});

t.test('idle expiry on the Clock, refreshed by requests of the dialog; 481 and 408 forget', async (t) => {
  const clock = new VirtualClock();
  const m = new DialogMemory(clock, 10_000);
  m.remember(invite(), ok(), isOwn);
  clock.advance(9_000);
  t.ok(m.steer(inDialog('INFO')), 'still known after 9 s');
  clock.advance(9_000);
  t.ok(m.steer(inDialog('INFO')), 'the INFO refreshed it: known 18 s after the 2xx');
  m.finalFor(inDialog('INFO'), 200);
  t.equal(m.size, 1, 'a 200 to an INFO keeps it');
  clock.advance(10_001);
  t.equal(m.size, 0, 'expired after 10 s idle');
  t.notOk(m.steer(inDialog('BYE')), 'an expired dialog is not steered');
  for (const status of [481, 408]) {
    m.remember(invite(), ok(), isOwn);
    m.finalFor(inDialog('INFO'), status);
    t.equal(m.size, 0, `${status} to an in-dialog request forgets the dialog`);
  }
  m.remember(invite(), ok(), isOwn);
  m.clear();
  clock.advance(20_000);
  t.equal(m.size, 0, 'clear() drops everything');
});
