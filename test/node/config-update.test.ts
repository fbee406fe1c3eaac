/**
 * ConfigUpdate (RFC 6940 §6.5.4): a peer with a newer configuration joins peers running the
 * previous one; the newer document reaches them (they answer Error_Config_Too_New, get a
 * ConfigUpdate with sequence 65535, verify it against the configuration in force and adopt
 * it), and a Kind the new version adds becomes usable across the overlay. Forged, stale and
 * incompatible documents are refused with the right error codes.
 */
import t from 'tap';
import { makeOverlay, CONFIG_TEST_KINDS } from '../helpers/overlay-dir.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import type { ReloadNode } from '../../src/node/node.js';
import { writeOverlayDocument } from '../../src/config/write.js';
import { Signer } from '../../src/security/signer.js';
import { utf8 } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import { ReloadError } from '../../src/common/errors.js';
import { ConfigurationHolder } from '../../src/node/configuration.js';
import { KindRegistry } from '../../src/storage/kinds.js';
import { PolicyRegistry } from '../../src/storage/policies.js';
import { overlayParameters } from '../../src/node/parameters.js';
import { registerConfiguredKinds } from '../../src/node/create.js';
import { systemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import type { KindDefinition } from '../../src/config/types.js';
import { storedTexts } from '../helpers/values.js';

const NEW_KIND = 0xf0000077;
const newKind: KindDefinition = {
  id: NEW_KIND,
  dataModel: 'SINGLE',
  accessControl: 'USER-MATCH',
  maxCount: 1,
  maxSize: 512,
  extensions: [],
  extensionAttributes: [],
};

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('a newer configuration spreads through ConfigUpdate', async (t) => {
  const ov = await makeOverlay();
  const signer = new Signer(ov.overlay.operator);
  const v2 = { ...ov.overlay.configuration, sequence: 2, requiredKinds: [...CONFIG_TEST_KINDS, newKind] };
  const v2bytes = writeOverlayDocument({ configuration: v2, signer, kindSigner: signer });
  const nodes: ReloadNode[] = [];
  t.teardown(async () => {
    for (const n of nodes) await n.stop();
  });
  const common = { topologyParams: { updateIntervalMs: 2000 } };
  // Node-IDs fixed so that the newcomer's join Attach (to its own Node-ID + 1) is answered by
  // p1, which the newcomer has no link to yet: the Error_Config_Too_New then comes from a node
  // two hops away, and the ConfigUpdate must travel the same way (through the bootstrap link).
  const id = (b: number): Uint8Array => {
    const x = new Uint8Array(16);
    x[0] = b;
    return x;
  };
  const first = (await createNodeFromIdentity(await ov.identity('p0', id(0x10)), { ...common, listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }], firstNode: true })).node;
  await first.start();
  nodes.push(first);
  const boot = first.addresses[0]!.address;
  const second = (await createNodeFromIdentity(await ov.identity('p1', id(0x90)), { ...common, listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }], bootstrap: [boot] })).node;
  await second.start();
  nodes.push(second);
  t.equal(first.params.configurationSequence, 1, 'the overlay starts on sequence 1');
  t.notOk(second.kinds.get(NEW_KIND), 'the new Kind is unknown before the update');
  // A peer enrolled with the newer document joins through the first peer.
  const newer = (
    await createNodeFromIdentity(await ov.identity('p2', id(0x50), { bytes: v2bytes, configuration: v2 }), {
      ...common,
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      bootstrap: [boot],
    })
  ).node;
  await newer.start();
  nodes.push(newer);
  t.equal(first.params.configurationSequence, 2, 'the bootstrap peer adopted sequence 2 during the join');
  // The second peer learns it when it next talks to an updated peer.
  await until('every peer on sequence 2', () => nodes.every((n) => n.params.configurationSequence === 2));
  t.pass('every peer runs sequence 2');
  t.ok(second.kinds.get(NEW_KIND), 'the Kind added by the new version is known everywhere');
  const user = second.signer.credentials.certificate.userName!;
  await second.storeValues(user, NEW_KIND, [{ model: 'single', value: utf8('v2 kind') }]);
  const f = await first.fetchValues(user, NEW_KIND);
  t.same(storedTexts(f), ['v2 kind'], 'a value of the new Kind is stored and fetched');
});

t.test('ConfigUpdate refusals', async (t) => {
  const ov = await makeOverlay();
  const signer = new Signer(ov.overlay.operator);
  const holder = (): ConfigurationHolder => {
    const policies = new PolicyRegistry();
    const kinds = new KindRegistry({ policies });
    const params = overlayParameters({ overlayName: ov.overlay.configuration.instanceName, configurationSequence: 1 });
    registerConfiguredKinds(kinds, ov.overlay.configuration, silentLogger);
    return new ConfigurationHolder(
      { bytes: ov.overlay.configurationBytes, configuration: ov.overlay.configuration },
      kinds,
      params,
      (k, c) => registerConfiguredKinds(k, c, silentLogger),
      systemClock,
      silentLogger,
    );
  };
  const code = (f: () => void): number | undefined => {
    try {
      f();
      return undefined;
    } catch (err) {
      return err instanceof ReloadError ? err.errorCode : -1;
    }
  };
  const same = writeOverlayDocument({ configuration: { ...ov.overlay.configuration, sequence: 1 }, signer, kindSigner: signer });
  t.equal(code(() => holder().handle({ type: 'config', configData: same })), ErrorCode.configTooOld, 'the same sequence is not newer: Error_Config_Too_Old');
  const v3 = writeOverlayDocument({ configuration: { ...ov.overlay.configuration, sequence: 3 }, signer, kindSigner: signer });
  const tampered = new Uint8Array(v3);
  const at = Buffer.from(tampered).indexOf('max-message-size');
  tampered[at + 20] = tampered[at + 20]! ^ 1;
  t.equal(code(() => holder().handle({ type: 'config', configData: tampered })), ErrorCode.forbidden, 'a tampered document: Error_Forbidden');
  const other = await makeOverlay();
  const foreign = writeOverlayDocument({
    configuration: { ...other.overlay.configuration, instanceName: ov.overlay.configuration.instanceName, sequence: 5 },
    signer: new Signer(other.overlay.operator),
  });
  t.equal(code(() => holder().handle({ type: 'config', configData: foreign })), ErrorCode.forbidden, 'signed by someone who is not a configuration-signer: Error_Forbidden');
  const incompatible = writeOverlayDocument({ configuration: { ...ov.overlay.configuration, sequence: 4, topologyPlugin: 'EXP-OVERLAY' }, signer, kindSigner: signer });
  t.equal(code(() => holder().handle({ type: 'config', configData: incompatible })), ErrorCode.incompatibleWithOverlay, 'a topology plugin change needs a restart: Error_Incompatible_with_Overlay');
  const h = holder();
  h.handle({ type: 'config', configData: v3 });
  t.equal(h.configuration.sequence, 3, 'a newer, properly signed document is adopted');
});
