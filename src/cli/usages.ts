/**
 * Loading usage modules by path (`--usage ./my-usage.js`): the module's default export
 * (or its export named `usage`) is a UsagePlugin, or a function returning one.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type UsagePlugin, UsageLoadError } from '../node/usage.js';

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
