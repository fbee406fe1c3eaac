/**
 * Loading usage modules by path (`--usage ./my-usage.js`): the module's default export
 * (or its export named `usage`) is a UsagePlugin, or a function returning one.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OverlayConfiguration } from '../config/types.js';
import { type UsagePlugin, UsageLoadError } from '../node/usage.js';
import { USER_CHAIN_ACL_NAME, shareUsage } from '../../usages/share/index.js';

export async function loadUsageModule(path: string): Promise<UsagePlugin> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageLoadError(path, `cannot load module: ${(err as Error).message}`, { cause: err });
  }
  let u = (mod.default ?? mod.usage) as unknown;
  if (typeof u === 'function') u = await (u as () => unknown)();
  if (!u || typeof u !== 'object' || typeof (u as UsagePlugin).name !== 'string') {
    throw new UsageLoadError(path, 'the module must export a usage plugin (an object with a name) as default or `usage`');
  }
  return u as UsagePlugin;
}

export async function loadUsageModules(paths: string[]): Promise<UsagePlugin[]> {
  const out: UsagePlugin[] = [];
  for (const p of paths) out.push(await loadUsageModule(p));
  return out;
}

/**
 * The project's own usages that an overlay configuration needs on every node that loads it,
 * beyond those already `loaded`: a kind-block with access control USER-CHAIN-ACL needs
 * ShaRe's policy (RFC 8076 §6.3), or the node refuses to start ("access-control policy
 * USER-CHAIN-ACL is not registered"). So `reload-node fetch` works on a ShaRe overlay (the
 * demo's, with its conference) without `--usage dist/usages/share/index.js`.
 */
export function usagesRequiredBy(config: Pick<OverlayConfiguration, 'requiredKinds'>, loaded: readonly UsagePlugin[]): UsagePlugin[] {
  const needsShare = config.requiredKinds.some((k) => k.accessControl === USER_CHAIN_ACL_NAME);
  const hasShare = loaded.some((u) => u.name === 'share' || (u.policies ?? []).some((p) => p.name === USER_CHAIN_ACL_NAME));
  return needsShare && !hasShare ? [shareUsage()] : [];
}
