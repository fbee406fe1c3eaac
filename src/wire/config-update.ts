/** ConfigUpdateReq / ConfigUpdateAns (RFC 6940 §6.5.4). */
import { type Codec, DecodeError, opaqueSize, vectorOf } from './codec.js';
import { ConfigUpdateType } from './constants.js';

export type ConfigUpdateReq =
  /** A whole configuration document (UTF-8 XML). */
  | { type: 'config'; configData: Uint8Array }
  /** kind-block elements, each UTF-8 XML (KindDescription). */
  | { type: 'kind'; kinds: Uint8Array[] };

const S = 'ConfigUpdateReq';

const kindDescription: Codec<Uint8Array> = {
  name: 'KindDescription',
  size: (k) => opaqueSize(2, k, 'KindDescription', 'kind'),
  encode: (w, k) => w.opaque(2, k),
  decode: (r) => r.opaque(2, 'KindDescription', 'kind'),
};
const kindList = vectorOf('ConfigUpdateReq.kinds', 3, kindDescription);

function innerSize(c: ConfigUpdateReq): number {
  if (c.type === 'config') return opaqueSize(3, c.configData, S, 'config_data');
  return kindList.size(c.kinds);
}

export const configUpdateReq: Codec<ConfigUpdateReq> = {
  name: S,
  size: (c) => 5 + innerSize(c),
  encode(w, c) {
    w.u8(c.type === 'config' ? ConfigUpdateType.config : ConfigUpdateType.kind);
    w.u32(innerSize(c));
    if (c.type === 'config') w.opaque(3, c.configData);
    else kindList.encode(w, c.kinds);
  },
  decode(r) {
    const at = r.pos;
    const type = r.u8(S, 'type');
    // The select has no default arm: an unknown type is a parse error (RFC 6940 §6.3.1).
    if (type !== ConfigUpdateType.config && type !== ConfigUpdateType.kind) {
      throw new DecodeError(S, 'type', 'value', at, `unknown ConfigUpdateType ${type}`);
    }
    const body = r.sub(r.u32(S, 'length'), S, 'length');
    const out: ConfigUpdateReq =
      type === ConfigUpdateType.config
        ? { type: 'config', configData: body.opaque(3, S, 'config_data') }
        : { type: 'kind', kinds: kindList.decode(body) };
    body.done(S);
    return out;
  },
};
