/**
 * Topology plugins by their configuration name (topology-plugin element, RFC 6940 §11.1).
 * A new topology registers its factory here; src/ never needs to change.
 */
import type { TopologyFactory } from './plugin.js';
import { type ChordOptions, ChordTopology } from './chord/chord.js';

const factories = new Map<string, TopologyFactory>([
  ['CHORD-RELOAD', (host, params) => new ChordTopology(host, params as Partial<ChordOptions>)],
]);

export function topologyFactory(name: string): TopologyFactory {
  const f = factories.get(name.toUpperCase());
  if (!f) throw new Error(`unknown topology plugin "${name}" (known: ${[...factories.keys()].join(', ')})`);
  return f;
}

export function registerTopology(name: string, factory: TopologyFactory): void {
  const key = name.toUpperCase();
  if (factories.has(key)) throw new Error(`topology plugin "${name}" is already registered`);
  factories.set(key, factory);
}

export type { TopologyFactory, TopologyPlugin, TopologyHost } from './plugin.js';
