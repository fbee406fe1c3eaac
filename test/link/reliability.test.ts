import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';
import { MutableLinkStats } from '../../src/link/common.js';
import { ReceiveWindow, RttEstimator, StopAndWaitSender } from '../../src/link/reliability.js';
import { LinkError, type LinkHint } from '../../src/link/types.js';

t.test('RttEstimator follows RFC 6298 §2', async (t) => {
  const e = new RttEstimator({ initialRtoMs: 500, minRtoMs: 50, maxRtoMs: 60_000 });
  t.equal(e.rto, 500, 'static default before the first sample');
  t.equal(e.srtt, undefined);
  e.sample(100);
  t.equal(e.srtt, 100, 'SRTT <- R');
  t.equal(e.rttvar, 50, 'RTTVAR <- R/2');
  t.equal(e.rto, 300, 'RTO <- SRTT + 4·RTTVAR');
  e.sample(200);
  // RTTVAR = 3/4·50 + 1/4·|100-200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
  t.equal(e.rttvar, 62.5);
  t.equal(e.srtt, 112.5);
  t.equal(e.rto, 363, '112.5 + 250 rounded up to 1 ms');
  e.backoff();
  t.equal(e.rto, 726, 'backoff doubles (§5.5)');
  e.sample(1);
  t.ok(e.rto >= 50, 'floored at minRtoMs');
  t.equal(e.samples, 3);
  const small = new RttEstimator({ minRtoMs: 50 });
  for (let i = 0; i < 50; i++) small.sample(1);
  t.equal(small.rto, 50, 'loopback samples clamp to the floor');
  const big = new RttEstimator({ initialRtoMs: 40_000, maxRtoMs: 60_000 });
  big.backoff();
  t.equal(big.rto, 60_000, 'ceiling');
  t.throws(() => new RttEstimator({ minRtoMs: 0 }), RangeError);
  t.throws(() => new RttEstimator({ minRtoMs: 100, maxRtoMs: 50 }), RangeError);
});

t.test('ReceiveWindow: bitmap of the previous 32 sequence numbers, LSB = N-1', async (t) => {
  const w = new ReceiveWindow();
  t.same(w.record(0), { received: 0, duplicate: false });
  t.same(w.record(1), { received: 0b1, duplicate: false });
  t.same(w.record(3), { received: 0b110, duplicate: false }, '2 missing, 1 and 0 present');
  t.same(w.record(1), { received: 0b1, duplicate: true }, 'a repeated sequence number is flagged');
  const v = new ReceiveWindow();
  for (let s = 0; s < 40; s++) v.record(s);
  t.equal(v.record(40).received, 0xffffffff, 'all 32 predecessors');
  // Only the last 32 numbers are remembered: 0..7 fell out.
  t.equal(v.record(7).duplicate, false);
});

function sender(clock: VirtualClock, opts: { maxTransmissions?: number; ackGapMs?: number; maxQueue?: number } = {}) {
  const sent: { seq: number; at: number; message: string; retransmission: boolean }[] = [];
  const hints: { hint: LinkHint; at: number }[] = [];
  const gaveUp: LinkError[] = [];
  const stats = new MutableLinkStats();
  const rtt = new RttEstimator({ initialRtoMs: 500, minRtoMs: 50 });
  const s = new StopAndWaitSender({
    clock,
    rtt,
    stats,
    remote: { host: 'x', port: 1 },
    ...opts,
    transmit: (seq, m, _tail, retransmission) => sent.push({ seq, at: clock.now(), message: Buffer.from(m).toString(), retransmission }),
    hint: (hint) => hints.push({ hint, at: clock.now() }),
    giveUp: (e) => {
      gaveUp.push(e);
      s.fail(new LinkError('closed', { reason: 'closed' }));
    },
  });
  return { s, sent, hints, gaveUp, stats, rtt };
}

t.test('StopAndWaitSender: schedule 0, 500, 1500, 3500, 7500, give up at 15500', async (t) => {
  const clock = new VirtualClock(0);
  const { s, sent, hints, gaveUp, stats } = sender(clock);
  const p = s.send(Buffer.from('a'));
  const q = s.send(Buffer.from('b'));
  let rejected: unknown;
  const done = p.catch((e) => (rejected = e));
  const qDone = q.catch((e) => e);
  clock.runUntil(15_499);
  t.same(
    sent.map((x) => [x.seq, x.at, x.message, x.retransmission]),
    [
      [0, 0, 'a', false],
      [1, 500, 'a', true],
      [2, 1500, 'a', true],
      [3, 3500, 'a', true],
      [4, 7500, 'a', true],
    ],
    'new sequence number per transmission, RTO doubling',
  );
  t.same(hints, [{ hint: 'suspect', at: 7500 }], 'failure hint when the fourth retransmission goes out');
  t.equal(gaveUp.length, 0);
  clock.runUntil(15_500);
  await done;
  t.ok(rejected instanceof LinkError);
  t.equal((rejected as LinkError).reason, 'timeout');
  t.equal(gaveUp.length, 1);
  t.equal(((await qDone) as LinkError).reason, 'closed', 'queued message rejected when the link closes');
  t.equal(stats.dataFramesSent, 5);
  t.equal(stats.retransmissions, 4);
  await t.rejects(s.send(Buffer.from('c')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
});

t.test('StopAndWaitSender: ack of any transmission completes; 10 ms gap; order kept; RTT samples', async (t) => {
  const clock = new VirtualClock(0);
  const { s, sent, hints, stats, rtt } = sender(clock);
  const order: string[] = [];
  const ps = ['a', 'b', 'c'].map((m) => s.send(Buffer.from(m)).then(() => order.push(m)));
  t.equal(s.outstanding, 3);
  clock.advance(120);
  s.onAck(0);
  await Promise.resolve();
  t.equal(rtt.srtt, 120);
  t.equal(sent.length, 1, 'next message waits for the 10 ms gap');
  clock.advance(9);
  t.equal(sent.length, 1);
  clock.advance(1);
  t.same(sent.map((x) => [x.seq, x.at, x.message]), [[0, 0, 'a'], [1, 130, 'b']]);
  // Lose b's first transmission; its retransmission (seq 2) goes out after the RTO (now 360).
  t.equal(rtt.rto, 360);
  clock.advance(360);
  t.same(sent[2], { seq: 2, at: 490, message: 'b', retransmission: true });
  // The late ack of the FIRST transmission (seq 1) still acknowledges b.
  clock.advance(40);
  s.onAck(1);
  t.equal(rtt.samples, 2, 'late ack sampled against its own transmission');
  s.onAck(1);
  t.equal(rtt.samples, 2, 'a repeated ack is not sampled twice');
  clock.advance(10);
  t.same(sent[3], { seq: 3, at: 540, message: 'c', retransmission: false });
  s.onAck(3);
  await Promise.all(ps);
  t.same(order, ['a', 'b', 'c']);
  t.equal(stats.messagesSent, 3);
  t.same(hints, []);
  s.onAck(99);
  t.equal(rtt.samples, 3, 'unknown ack ignored');
});

t.test('StopAndWaitSender: suspect then restored by a late ack; queue limit', async (t) => {
  const clock = new VirtualClock(0);
  const { s, hints } = sender(clock, { maxQueue: 1 });
  const p = s.send(Buffer.from('a'));
  s.send(Buffer.from('b')).catch(() => {});
  await t.rejects(s.send(Buffer.from('c')), { code: 'ERR_RELOAD_LINK', reason: 'queue-full' });
  clock.runUntil(7_600);
  t.same(hints.map((h) => h.hint), ['suspect']);
  s.onAck(4);
  await p;
  t.same(hints.map((h) => h.hint), ['suspect', 'restored']);
  t.throws(() => sender(clock, { maxTransmissions: 0 }), RangeError);
});
