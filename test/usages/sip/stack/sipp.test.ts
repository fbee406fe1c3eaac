/**
 * Interoperability: SIPp's built-in UAC scenario (`sipp -sn uac`: INVITE, optional 100/180,
 * 200, ACK, BYE, 200) against a minimal UAS built on SipEndpoint, over UDP and TCP on
 * loopback. SIPp exits 0 only if every expected message arrived in order. (.ci/run installs
 * sipp from Debian's sip-tester package.)
 */
import { execFile } from 'node:child_process';
import t from 'tap';
import { Dialog, SipEndpoint, SipRequest, uasPrecheck } from '../../../../usages/sip/stack/index.js';

async function uas() {
  const ep = await SipEndpoint.start();
  const seen: string[] = [];
  const dialogs = new Map<string, Dialog>();
  ep.on('request', (req: SipRequest, tx) => {
    seen.push(req.method);
    if (!tx) return; // the ACK for our 2xx
    const reject = uasPrecheck(req, { methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'] });
    if (reject) {
      tx.respond(tx.createResponse(reject.status));
      return;
    }
    if (req.method === 'INVITE') {
      tx.respond(tx.createResponse(180));
      const ok = tx.createResponse(200);
      const port = req.received!.transport === 'UDP' ? ep.udpAddress!.port : ep.tcpAddress!.port;
      ok.set('Contact', `<sip:uas@127.0.0.1:${port}${req.received!.transport === 'TCP' ? ';transport=tcp' : ''}>`);
      ok.setBody('v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n', 'application/sdp');
      const d = Dialog.asUas(req, ok);
      dialogs.set(d.key, d);
      tx.respond(ok);
      return;
    }
    if (req.method === 'BYE') {
      const known = [...dialogs.values()].find((d) => d.id.callId === req.callId() && d.id.remoteTag === req.fromTag());
      if (!known || !known.acceptRequest(req).ok) {
        tx.respond(tx.createResponse(481));
        return;
      }
      tx.respond(tx.createResponse(200));
      return;
    }
    tx.respond(tx.createResponse(200));
  });
  return { ep, seen, dialogs };
}

function runSipp(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('sipp', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, output: `${stdout}\n${stderr}` });
    });
  });
}

for (const transport of ['UDP', 'TCP'] as const) {
  t.test(`sipp -sn uac over ${transport} completes a call against the endpoint`, async (t) => {
    const { ep, seen, dialogs } = await uas();
    t.teardown(() => ep.stop());
    const port = transport === 'UDP' ? ep.udpAddress!.port : ep.tcpAddress!.port;
    const args = ['-sn', 'uac', `127.0.0.1:${port}`, '-i', '127.0.0.1', '-m', '1', '-d', '200', '-nostdin', '-timeout', '20s', '-timeout_error'];
    if (transport === 'TCP') args.push('-t', 't1');
    const { code, output } = await runSipp(args);
    t.equal(code, 0, `sipp exit status (output tail: ${output.slice(-400).replace(/\s+/g, ' ')})`);
    t.same(seen, ['INVITE', 'ACK', 'BYE']);
    t.equal(dialogs.size, 1);
    t.equal([...dialogs.values()][0]!.state, 'terminated', 'the BYE ended the dialog');
  });
}
