/**
 * The status page in a real browser (Debian's chromium, headless, driven by
 * playwright-core): a 5-peer TLS overlay on loopback, one peer serving its page. The page
 * renders; the ring shows this peer and as many successors, predecessors and fingers as
 * the peer's topology has; links, message counters, stored data, the conference a usage
 * reports and the usage's own section appear; the page refreshes itself and says so when
 * the node goes away; a screenshot is taken.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeOverlay } from '../helpers/overlay-dir.js';
import { KIND_SINGLE_USER } from '../helpers/testnet.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import type { ReloadNode } from '../../src/node/node.js';
import type { UsagePlugin } from '../../src/node/usage.js';
import { serveStatus } from '../../src/status/server.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';
import { compareIds } from '../../src/wire/ids.js';
import { fromHex, toHex, utf8 } from '../../src/wire/codec.js';

const CHROMIUM = '/usr/bin/chromium';
const CONFERENCE = 'sip:standup@overlay.test.example';

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'reload-status-page-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// A usage reporting a conference this peer serves as a focus, like the DisCo usage will.
const focusUsage: UsagePlugin = {
  name: 'focus-demo',
  status: () => ({
    title: 'Focus demo',
    conferences: [{ uri: CONFERENCE, roster: [{ user: 'alice@overlay.test.example', state: 'connected' }, { user: 'bob@overlay.test.example', state: 'on hold' }] }],
    mixedStreams: 2,
  }),
};

const ov = await makeOverlay();
const nodes: ReloadNode[] = [];
t.teardown(async () => {
  for (const n of nodes) await n.stop();
});
for (let i = 0; i < 5; i++) {
  const { node } = await createNodeFromIdentity(await ov.identity(`web${i}`), {
    listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
    topologyParams: { updateIntervalMs: 1000 },
    ...(i === 0 ? { firstNode: true, usages: [focusUsage] } : { bootstrap: [nodes[0]!.addresses[0]!.address] }),
  });
  await node.start();
  nodes.push(node);
}
const ids = nodes.map((n) => toHex(n.nodeId)).sort((a, b) => compareIds(fromHex(a), fromHex(b)));
await until('a correct ring', () =>
  nodes.every((n) => {
    const i = ids.indexOf(toHex(n.nodeId));
    const s = n.topology.snapshot();
    return s.successors[0] !== undefined && toHex(s.successors[0]) === ids[(i + 1) % 5] && s.predecessors[0] !== undefined && toHex(s.predecessors[0]) === ids[(i + 4) % 5];
  }),
);
for (const n of nodes) {
  const user = n.signer.credentials.certificate.userName!;
  await n.storeValues(user, KIND_SINGLE_USER, [{ model: 'single', value: utf8(`status of ${user}`) }]);
}
const peer = nodes[0]!;
await peer.fetchValues(nodes[3]!.signer.credentials.certificate.userName!, KIND_SINGLE_USER);
const server = await serveStatus(peer);
t.teardown(() => server.close());

let context: BrowserContext;
try {
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
} catch (err) {
  throw new Error(`Chromium is required for the status page test (apt-get install -y chromium; .ci/run installs it): ${(err as Error).message}`);
}
t.teardown(() => context.close());

t.test('the status page in headless Chromium', async (t) => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(server.url);
  await page.waitForSelector('body[data-refreshes="1"]', { timeout: 15_000 });
  t.equal(await page.title(), 'RELOAD peer status');
  t.equal(await page.textContent('#node-id'), toHex(peer.nodeId), 'this peer\'s Node-ID');
  t.equal(await page.textContent('#overlay'), peer.params.overlayName);

  // The ring against the topology: markers per role, each at most once per peer.
  const snap = peer.topology.snapshot();
  const distinct = (xs: Uint8Array[]): string[] => [...new Set(xs.map(toHex))].filter((x) => x !== toHex(peer.nodeId)).sort();
  const shown = async (role: string): Promise<string[]> =>
    (await page.$$eval(`#ring g.peer[data-roles~="${role}"]`, (els) => els.map((e) => e.getAttribute('data-node-id') ?? ''))).sort();
  t.equal(await page.locator('#ring [data-role="self"]').count(), 1, 'one marker for this peer');
  t.equal(await page.getAttribute('#ring [data-role="self"]', 'data-node-id'), toHex(peer.nodeId));
  t.same(await shown('successor'), distinct(snap.successors), `successors: ${distinct(snap.successors).length}`);
  t.same(await shown('predecessor'), distinct(snap.predecessors), `predecessors: ${distinct(snap.predecessors).length}`);
  t.same(await shown('finger'), distinct(snap.fingers), `fingers: ${distinct(snap.fingers).length}`);
  t.equal(distinct(snap.successors).length, 4, 'a 5-peer ring: the 4 others succeed this peer');
  t.equal(await page.locator('#ring g.peer').count(), new Set([...distinct(snap.successors), ...distinct(snap.predecessors), ...distinct(snap.fingers)]).size, 'one marker per neighbour');
  t.equal(await page.locator('#ring line.chord').count(), distinct(snap.fingers).length, 'a chord to each finger');

  // Links with RTTs, counters, stored data.
  t.equal(await page.locator('#links tbody tr').count(), peer.router.table.size, 'one row per link');
  const rtts = await page.$$eval('#links tbody tr td:nth-child(5)', (tds) => tds.map((td) => td.textContent ?? ''));
  t.ok(rtts.every((r) => /^\d+\.\d ms$|^\u2013$/.test(r)), `SRTT column: ${rtts.join(', ')}`);
  const counter = async (name: string): Promise<number> => Number(await page.textContent(`[data-counter="${name}"] b`));
  t.ok((await counter('received')) > 0, 'messages received');
  t.ok((await counter('originated')) > 0, 'messages originated');
  t.ok((await page.locator('#by-code tbody tr').count()) >= 5, 'counters per message code');
  t.match(await page.textContent('#by-code'), /update_req/);
  const kinds = await page.$$eval('#storage tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  t.same(kinds, peer.storage.statsByKind().map((k) => `0x${k.kind.toString(16)}`), 'stored data per Kind');

  // What the usage reports.
  const conf = page.locator(`#conferences .conference[data-uri="${CONFERENCE}"]`);
  t.equal(await conf.count(), 1, 'the conference this peer is focus of');
  t.same(await conf.locator('tbody td:first-child').allTextContents(), ['alice@overlay.test.example', 'bob@overlay.test.example'], 'its roster');
  t.match(await page.textContent('section[data-usage="focus-demo"]'), /Focus demo.*mixedStreams.*2/s, 'the usage\'s own section');

  // The page keeps itself up to date.
  const before = await counter('received');
  const refreshes = Number(await page.getAttribute('body', 'data-refreshes'));
  await nodes[2]!.ping({ type: 'node', id: peer.nodeId });
  // A refresh already in flight during the ping may show the old count: wait for a later one.
  await until('a refresh with the new traffic', async () => (await counter('received')) > before, 10_000);
  t.ok((await counter('received')) > before, 'a later refresh shows the new traffic, without reloading the page');
  t.ok(Number(await page.getAttribute('body', 'data-refreshes')) > refreshes, 'it refreshed itself');

  const shot = join(process.env.STATUS_SCREENSHOT_DIR ?? dir, 'status.png');
  await page.screenshot({ path: shot, fullPage: true });
  const png = readFileSync(shot);
  t.ok(png.length > 10_000, `screenshot: ${png.length} bytes`);
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');

  t.same(problems, [], 'no script errors');
  t.same(
    [...new Set(requests.map((u) => new URL(u).pathname))].sort(),
    ['/', '/api/status'],
    'the page loads nothing but itself and its API',
  );
  t.ok(requests.every((u) => u.startsWith(server.url)), 'all from this node');

  // The API the page reads agrees with what was drawn.
  const api = (await (await fetch(new URL('/api/status', server.url))).json()) as StatusSnapshot;
  t.same(api.ring.successors.filter((x) => x !== api.ring.self).sort(), await shown('successor'));

  // The node goes away: the page says so instead of showing stale data silently.
  await server.close();
  await page.waitForSelector('#banner.show', { timeout: 10_000 });
  t.match(await page.textContent('#banner'), /Cannot reach the node/);
  await page.close();
});
