/**
 * The status server (src/status/server.ts) and its JSON (snapshot.ts) on a 4-peer memory
 * testnet: the page and /api/status, HEAD, the JSON errors for unknown paths, other
 * methods and malformed requests (the server keeps serving), usage-provided sections and
 * conferences, and a producer that throws.
 */
import t from 'tap';
import { connect } from 'node:net';
import { serveStatus } from '../../src/status/server.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';
import { toHex, utf8 } from '../../src/wire/codec.js';
import { testCredentials, nodeIdWithPrefix } from '../helpers/identities.js';
import { KIND_SINGLE_USER, testnet } from '../helpers/testnet.js';

const net = testnet({ seed: 11 });
for (const p of [0x10, 0x50, 0x90, 0xd0]) await net.add(testCredentials(`s${p.toString(16)}`, nodeIdWithPrefix(p)));
await net.settle(30_000);
const node = net.nodes[1]!;
const user = node.signer.credentials.certificate.userName!;
await net.run(node.storeValues(user, KIND_SINGLE_USER, [{ model: 'single', value: utf8('status') }]));
await net.settle(1_000);

const server = await serveStatus(node, {
  sections: {
    focus: () => ({ title: 'Focus', conferences: [{ uri: 'sip:team@overlay.test.example', roster: [{ user: 'alice', state: 'connected' }] }], mixers: 1 }),
    broken: () => {
      throw new Error('no data yet');
    },
    bytes: async () => ({ key: new Uint8Array([1, 2]), big: 2n ** 70n }),
  },
});
t.teardown(() => server.close());

async function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(new URL(path, server.url), init);
}

/** Sends raw bytes and returns the whole reply. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.address.port, server.address.host);
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(text);
  });
}

t.test('the page: one self-contained HTML document', async (t) => {
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'loopback by default');
  const r = await get('/');
  t.equal(r.status, 200);
  t.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(r.headers.get('content-security-policy'), /default-src 'none'/, 'nothing from elsewhere');
  t.equal(r.headers.get('cache-control'), 'no-store');
  const html = await r.text();
  t.match(html, /<svg id="ring"/);
  t.match(html, /fetch\('\/api\/status'/, 'polls the API');
  t.notMatch(html, /<script[^>]+src=|<link[^>]+href="(?!data:)|@import|url\(/, 'no external script or stylesheet');
  t.same(html.match(/https?:\/\/[^\s'"]+/g), ['http://www.w3.org/2000/svg'], 'no URL but the SVG namespace');
  t.equal((await get('/index.html')).status, 200);
});

t.test('/api/status', async (t) => {
  const r = await get('/api/status?x=1');
  t.equal(r.status, 200);
  t.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  const s = (await r.json()) as StatusSnapshot;
  t.equal(s.node.nodeId, toHex(node.nodeId));
  t.equal(s.node.overlay, node.params.overlayName);
  t.equal(s.node.role, 'peer');
  t.equal(s.node.userName, user);
  t.same(s.node.addresses, ['memory:10.0.0.2:6084']);
  const snap = node.topology.snapshot();
  t.same(s.ring, { bits: 128, self: toHex(node.nodeId), successors: snap.successors.map(toHex), predecessors: snap.predecessors.map(toHex), fingers: snap.fingers.map(toHex) });
  t.equal(s.links.length, node.router.table.size, 'one row per link');
  for (const l of s.links) {
    t.equal(l.transport, 'memory');
    t.same(l.roles, [
      ...(s.ring.successors.includes(l.nodeId!) ? ['successor'] : []),
      ...(s.ring.predecessors.includes(l.nodeId!) ? ['predecessor'] : []),
      ...(s.ring.fingers.includes(l.nodeId!) ? ['finger'] : []),
    ]);
  }
  t.same(
    s.storage.kinds.map((k) => [k.kind, k.values]),
    node.storage.statsByKind().map((k) => [k.kind, k.values]),
    'stored data per Kind',
  );
  t.equal(s.storage.bytes, node.storage.storedBytes());
  t.ok(s.messages.received > 0 && s.messages.originated > 0, 'counters');
  const update = s.messages.byCode.find((c) => c.name === 'update_req');
  t.ok(update && update.sent > 0 && update.received > 0, 'per message code, named');
  t.equal(s.diagnostics.routingTableSize, node.diagnostics.routingTableSize());
  t.same(s.conferences, [{ uri: 'sip:team@overlay.test.example', roster: [{ user: 'alice', state: 'connected' }], usage: 'focus' }]);
  t.same(s.sections, [
    { usage: 'focus', title: 'Focus', fields: { mixers: 1 } },
    { usage: 'broken', title: 'broken', fields: { error: 'no data yet' } },
    { usage: 'bytes', title: 'bytes', fields: { key: '0102', big: (2n ** 70n).toString() } },
  ], 'sections; a throwing producer shows its error');
  const head = await get('/api/status', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '', 'HEAD: no body');
});

t.test('bad requests get JSON errors and the server carries on', async (t) => {
  const nf = await get('/nope');
  t.equal(nf.status, 404);
  t.same(await nf.json(), { error: 'not found', path: '/nope', paths: ['/', '/index.html', '/api/status'] });
  const post = await get('/api/status', { method: 'POST', body: 'x'.repeat(10_000) });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.same(await post.json(), { error: 'method not allowed', method: 'POST', allowed: ['GET', 'HEAD'] });
  const del = await get('/', { method: 'DELETE' });
  t.equal(del.status, 405);
  const garbage = await raw('GARBAGE\r\n\r\n');
  t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(garbage, /\{"error":"bad request"\}\n$/);
  const absolute = await raw('GET http://[bad HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  t.match(absolute, /^HTTP\/1\.1 (400|404) /, 'an unparsable target');
  t.equal((await get('/api/status')).status, 200, 'still serving');
});

t.test('close frees the port', async (t) => {
  const s2 = await serveStatus(node, { port: 0 });
  await s2.close();
  const again = await serveStatus(node, { port: s2.address.port });
  t.equal(again.address.port, s2.address.port);
  await again.close();
  await t.rejects(serveStatus(node, { port: server.address.port }), { code: 'EADDRINUSE' }, 'a taken port is an error, not a crash');
});
