/** `--diagnostics all|none|KIND,...`: who may read which RFC 7851 diagnostic Kind. */
import type { DiagnosticsAccess } from '../node/diagnostics.js';
import { diagnosticKindByName } from '../wire/diagnostics.js';
import { UsageError } from './command.js';

export function diagnosticsAccess(text: string): DiagnosticsAccess {
  if (text === 'all' || text === 'none') return text;
  return text.split(',').map((part) => {
    const t = part.trim();
    const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : diagnosticKindByName(t);
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > 0xffff) throw new UsageError(`--diagnostics: unknown diagnostic Kind "${t}"`);
    return n;
  });
}
