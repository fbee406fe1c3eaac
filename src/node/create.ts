/**
 * Building a ReloadNode from an overlay configuration and an identity: overlay parameters,
 * Kinds (configuration + usages), trust policy, storage, transports and topology. The
 * CLI's `start` and the client commands, the demo and tests all come through here.
 */
import type { KeyObject } from 'node:crypto';
import { type LoadedIdentity, loadIdentity } from '../../certs/enrollment-client.js';
import { type Clock, systemClock } from '../common/clock.js';
import { type Logger, silentLogger } from '../common/log.js';
import { type Random, cryptoRandom } from '../common/random.js';
import { TcpTransport } from '../link/tcp.js';
import { TlsTransport } from '../link/tls.js';
import { UdpTransport } from '../link/udp.js';
import type { LinkAddress, TransportKind } from '../link/types.js';
import type { OverlayConfiguration } from '../config/types.js';
import type { Credentials } from '../security/credentials.js';
import { CertificateStore } from '../security/trust.js';
import { KindRegistry } from '../storage/kinds.js';
import { PolicyRegistry } from '../storage/policies.js';
import { DataStore } from '../storage/store.js';
import { topologyFactory } from '../../topology/index.js';
import { toHex } from '../wire/codec.js';
import type { DataModel } from '../wire/constants.js';
import { ReloadNode, type TransportSpec } from './node.js';
import { type OverlayParameters, overlayParameters } from './parameters.js';
import { type UsagePlugin, installUsages } from './usage.js';
import type { DiagnosticsOptions } from './diagnostics.js';
import { ConfigurationHolder } from './configuration.js';

export interface ListenSpec {
  kind: TransportKind;
  host: string;
  port: number;
}

export interface NodeOptions {
  config: OverlayConfiguration;
  /** The signed document bytes of `config` (enables ConfigUpdate in both directions). */
  configBytes?: Uint8Array;
  credentials: Credentials;
  /** The private key again, for TLS. */
  privateKey: KeyObject;
  /** Trust anchors pinned locally (root.pem); the configuration's root-certs are used too. */
  rootCerts?: Uint8Array[];
  role?: 'peer' | 'client';
  /** Addresses to listen on (peers). */
  listen?: ListenSpec[];
  /** This peer starts the overlay (the bootstrap peer). */
  firstNode?: boolean;
  /** Allows plain UDP/TCP links (lab captures only; messages stay signed). */
  insecureLink?: boolean;
  /** Bootstrap addresses instead of the configuration's bootstrap-node elements. */
  bootstrap?: LinkAddress[];
  /** Transport kind used to reach bootstrap nodes (default: tls, or the first listen kind). */
  bootstrapKind?: TransportKind;
  usages?: UsagePlugin[];
  /** RFC 7851 diagnostics policy (default: every enrolled node may read every Kind). */
  diagnostics?: DiagnosticsOptions;
  /** Topology parameter overrides (tests use short CHORD intervals). */
  topologyParams?: Record<string, unknown>;
  params?: Partial<OverlayParameters>;
  clock?: Clock;
  random?: Random;
  log?: Logger;
}

const MODEL: Record<string, DataModel> = { SINGLE: 'single', ARRAY: 'array', DICTIONARY: 'dictionary' };

/** Overlay parameters from the configuration document (RFC 6940 §11.1). */
export function parametersFromConfiguration(c: OverlayConfiguration, extra: Partial<OverlayParameters> = {}): OverlayParameters {
  return overlayParameters({
    overlayName: c.instanceName,
    configurationSequence: c.sequence,
    nodeIdLength: c.nodeIdLength,
    initialTtl: c.initialTtl,
    maxMessageSize: c.maxMessageSize,
    reliabilityTimerMs: c.overlayReliabilityTimerMs,
    clientsPermitted: c.clientsPermitted,
    ...extra,
  });
}

/** Registers the configuration's Kinds (IANA Kinds keep their registered model and policy). */
export function registerConfiguredKinds(kinds: KindRegistry, c: OverlayConfiguration, log: Logger): void {
  for (const k of c.requiredKinds) {
    if (k.id === undefined) {
      log.warn('configuration names a Kind unknown here; skipped', { name: k.name });
      continue;
    }
    const dataModel = MODEL[k.dataModel.toUpperCase()];
    if (!dataModel) {
      log.warn('Kind with an unsupported data model; skipped', { kind: k.id, model: k.dataModel });
      continue;
    }
    const params: Record<string, unknown> = {};
    if (k.shareVariableResourceNames) params.variableResourceNames = k.shareVariableResourceNames;
    if (k.sipDomainRestriction) params.domainRestriction = k.sipDomainRestriction;
    kinds.register({
      id: k.id,
      ...(k.name ? { name: k.name } : {}),
      dataModel,
      accessControl: k.accessControl,
      maxCount: k.maxCount,
      maxSize: k.maxSize,
      ...(k.maxNodeMultiple !== undefined ? { maxNodeMultiple: k.maxNodeMultiple } : {}),
      source: 'config',
      params,
    });
  }
}

/** Builds (does not start) a node. */
export function createNode(o: NodeOptions): ReloadNode {
  const c = o.config;
  const clock = o.clock ?? systemClock;
  const log = o.log ?? silentLogger;
  const params = parametersFromConfiguration(c, o.params);
  const policies = new PolicyRegistry();
  const kinds = new KindRegistry({ policies, nodeIdLength: params.nodeIdLength });
  const usages = o.usages ?? [];
  // Usages first: they may add policies (USER-CHAIN-ACL) that configured Kinds name.
  installUsages(usages, { kinds, policies, phase: 'policies' });
  registerConfiguredKinds(kinds, c, log);
  installUsages(usages, { kinds, policies, phase: 'kinds' });
  const rootCerts = [...c.rootCerts, ...(o.rootCerts ?? [])];
  const certificates = new CertificateStore(
    {
      overlay: c.instanceName,
      rootCerts,
      selfSigned: c.selfSignedPermitted ? { digest: c.selfSignedDigest ?? 'sha256' } : undefined,
      badNodes: new Set(c.badNodes.map(toHex)),
      nodeIdLength: params.nodeIdLength,
    },
    clock,
  );
  const storage = new DataStore({ kinds, policies, clock, certificates });
  const verifyPeer = (der: Uint8Array): void => void certificates.check(der);
  const role = o.role ?? 'peer';
  const wanted = new Set<TransportKind>((o.listen ?? []).map((l) => l.kind));
  const bootstrapKind = o.bootstrapKind ?? o.listen?.[0]?.kind ?? 'tls';
  wanted.add(bootstrapKind);
  const transports: TransportSpec[] = [];
  for (const kind of wanted) {
    if ((kind === 'udp' || kind === 'tcp') && !o.insecureLink) {
      throw new Error(`${kind} links are unencrypted: they need --insecure-link`);
    }
    const listen = o.listen?.find((l) => l.kind === kind);
    const spec: TransportSpec = {
      kind,
      create: (opts) => {
        switch (kind) {
          case 'tls':
            return new TlsTransport({
              ...opts,
              certificate: o.credentials.certificate.der,
              privateKey: o.privateKey,
              ca: rootCerts,
              verifyPeer,
            });
          case 'tcp':
            return new TcpTransport(opts);
          case 'udp':
            return new UdpTransport(opts);
          default:
            throw new Error(`transport ${kind} cannot be created from a configuration`);
        }
      },
    };
    if (listen) spec.listen = { host: listen.host, port: listen.port };
    transports.push(spec);
  }
  const bootstrapAddresses = o.bootstrap ?? c.bootstrapNodes.map((b) => ({ host: b.address, port: b.port }));
  const node = new ReloadNode({
    params,
    credentials: o.credentials,
    certificates,
    kinds,
    storage,
    transports,
    bootstrap: bootstrapAddresses.map((address) => ({ kind: bootstrapKind, address })),
    topology: {
      factory: topologyFactory(c.topologyPlugin),
      params: {
        updateIntervalMs: c.chordUpdateIntervalS * 1000,
        fingerIntervalMs: c.chordPingIntervalS * 1000,
        reactive: c.chordReactive,
        ...o.topologyParams,
      },
    },
    role,
    firstNode: o.firstNode ?? false,
    ...(o.configBytes
      ? {
          configuration: new ConfigurationHolder(
            { bytes: o.configBytes, configuration: c },
            kinds,
            params,
            (k, conf) => registerConfiguredKinds(k, conf, log),
            clock,
            log,
          ),
        }
      : {}),
    clock,
    random: o.random ?? cryptoRandom,
    log,
    usages,
    ...(o.diagnostics ? { diagnostics: o.diagnostics } : {}),
  });
  return node;
}

/** Builds a node from an identity directory written by `reload-node enroll`. */
export async function createNodeFromIdentity(
  dir: string,
  o: Omit<NodeOptions, 'config' | 'credentials' | 'privateKey' | 'rootCerts'>,
): Promise<{ node: ReloadNode; identity: LoadedIdentity }> {
  const identity = await loadIdentity(dir, o.clock ? { clock: o.clock } : {});
  const node = createNode({
    ...o,
    config: identity.config,
    configBytes: identity.configurationBytes,
    credentials: identity.credentials,
    privateKey: identity.privateKey,
    rootCerts: identity.rootCerts,
  });
  return { node, identity };
}
