/**
 * The texts of the values a Fetch returned that really exist. A Fetch of a single value
 * (or an array gap) that the peer does not hold is answered with a synthesized exists =
 * false entry (RFC 6940 §7.4.2.2), so counting values cannot tell "fetched" from "lost".
 */
import type { FetchAns } from '../../src/wire/storage.js';
import type { FetchResult } from '../../src/node/usage.js';

type DataValueHolder = { value: { value: { exists: boolean; value: Uint8Array } } };

export function storedTexts(f: FetchResult | FetchAns): string[] {
  const data: DataValueHolder[] = 'kindResponses' in f
    ? f.kindResponses.flatMap((k) => k.values as unknown as DataValueHolder[])
    : f.values.map((v) => v.data as unknown as DataValueHolder);
  return data.filter((d) => d.value.value.exists).map((d) => Buffer.from(d.value.value.value).toString('utf8'));
}
