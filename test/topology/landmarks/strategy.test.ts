/**
 * The LandmarkNodeIdStrategy alone, and through the enrollment server over HTTPS: the client
 * sends its bin as the form field landmark-bin; an overlay that lists landmarks honours it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { generateRsaKey } from '../../../certs/ca.js';
import { enroll, EnrollmentError } from '../../../certs/enrollment-client.js';
import { overlayPaths } from '../../../certs/files.js';
import { LANDMARK_BIN_FIELD, NodeIdStrategyError } from '../../../certs/node-id-strategy.js';
import { addUser, initOverlay, serveEnrollment } from '../../../certs/overlay-admin.js';
import { SeededRandom } from '../../../src/common/random.js';
import { binPrefixOf, parseBin, permutationRank } from '../../../topology/landmarks/binning.js';
import { LandmarkNodeIdStrategy } from '../../../topology/landmarks/strategy.js';
import { freePort, tempDir } from '../../certs/helpers.js';

const key = generateRsaKey().publicKey;

t.test('the strategy honours a bin hint and falls back to random without one', async (t) => {
  const s = new LandmarkNodeIdStrategy({ landmarks: 3, random: new SeededRandom(1) });
  const ids = s.assign({ userName: 'a', count: 2, csrPublicKey: key, hints: { [LANDMARK_BIN_FIELD]: '2.0.1:0.1.2' } });
  t.equal(ids.length, 2);
  for (const id of ids) t.same(binPrefixOf(id, 3), { rank: permutationRank([2, 0, 1]), levels: [0, 1, 2] });
  const plain = s.assign({ userName: 'b', count: 1, csrPublicKey: key });
  t.equal(plain[0]!.length, 16);
  t.throws(() => s.assign({ userName: 'c', count: 1, csrPublicKey: key, hints: { [LANDMARK_BIN_FIELD]: '0.1:0.0' } }), NodeIdStrategyError);
  t.throws(() => new LandmarkNodeIdStrategy({ landmarks: 0 }), RangeError);
});

t.test('enrollment with landmark-bin over HTTPS', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const overlay = 'landmarks.example.org';
  await initOverlay({
    name: overlay,
    dir,
    enrollmentUrl: `https://127.0.0.1:${port}/enroll`,
    landmarks: [
      { address: '192.0.2.1', port: 6084 },
      { address: '192.0.2.2', port: 6084 },
      { address: '192.0.2.3', port: 6084 },
    ],
  });
  await addUser(dir, 'alice@example.org', 'alice-pw');
  await addUser(dir, 'bob@example.org', 'bob-pw');
  const log: string[] = [];
  const running = await serveEnrollment(dir, { host: '127.0.0.1', port, log: (l) => log.push(l) });
  t.teardown(() => running.close());
  const ca = readFileSync(overlayPaths(dir).caCert, 'utf8');
  const bin = '1.2.0:0.0.2';
  const a = await enroll({ configUrl: running.configUrl, userName: 'alice@example.org', password: 'alice-pw', ca, landmarkBin: bin });
  const expected = parseBin(bin, 3);
  t.same(binPrefixOf(a.nodeIds[0]!, 3), { rank: permutationRank(expected.ordering), levels: expected.levels }, "the Node-ID carries the bin's prefix");
  const bad = await enroll({ configUrl: running.configUrl, userName: 'bob@example.org', password: 'bob-pw', ca, landmarkBin: '1.1.0:0.0.2' }).catch((e: unknown) => e);
  t.ok(bad instanceof EnrollmentError, 'a malformed bin is refused');
  t.equal((bad as EnrollmentError).reason, 'Node-IDs_not_available');
  t.equal((bad as EnrollmentError).status, 403);
  t.ok(log.some((l) => /Node-IDs_not_available.*permutation/.test(l)), 'and the server says why');
});
