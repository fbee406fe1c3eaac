/** reload-node init-overlay: create an overlay (CA, operator identity, signed configuration). */
import { isIP } from 'node:net';
import { isDnsName } from '../../config/parse.js';
import { IANA_KINDS, PRIVATE_KIND_ID_MAX, PRIVATE_KIND_ID_MIN, isPrivateKindId } from '../../config/kinds.js';
import { ACCESS_CONTROL_POLICIES, type BootstrapNode, type KindDefinition, type Landmark, type LandmarkTransport } from '../../config/types.js';
import { initOverlay } from '../../../certs/overlay-admin.js';
import { overlayPaths } from '../../../certs/files.js';
import { toHex } from '../../wire/codec.js';
import { type Command, UsageError, parseOptions, required } from '../command.js';

const usage = `
usage: reload-node init-overlay --name NAME --dir DIR [options]

Creates a new overlay in DIR: DIR/ca/root.pem and root.key (the overlay CA), an operator
identity in DIR/operator/ (it signs the configuration and the kinds), the signed
configuration DIR/config.xml and an empty DIR/users.json.

  --name NAME            overlay instance name (a DNS name, e.g. overlay.example.org)
  --dir DIR              directory to create the overlay in
  --self-signed          permit self-signed node certificates (self-signed-permitted, sha256)
  --bootstrap HOST:PORT  a bootstrap node (IP address; port default 6084); repeatable
  --kind SPEC            a required kind; repeatable. SPEC is
                           NAME:MODEL:POLICY[:MAX-COUNT:MAX-SIZE[:MAX-NODE-MULTIPLE]]
                         NAME   an IANA kind (SIP-REGISTRATION, TURN-SERVICE,
                                CERTIFICATE_BY_NODE, CERTIFICATE_BY_USER, ACCESS-CONTROL-LIST)
                                or a private Kind-ID 0xF0000001..0xFFFFFFFE (decimal or 0x hex)
                         MODEL  single | array | dictionary
                         POLICY USER-MATCH | NODE-MATCH | USER-NODE-MATCH | NODE-MULTIPLE |
                                USER-CHAIN-ACL
                         defaults: MAX-COUNT 16, MAX-SIZE 4096, MAX-NODE-MULTIPLE 20
  --share-pattern KIND:PATTERN
                         enables ShaRe variable resource names (RFC 8076 §5.3) for a
                         USER-CHAIN-ACL kind given with --kind (NAME or Kind-ID); PATTERN is a
                         POSIX extended regular expression containing $USER and $DOMAIN,
                         e.g. ACCESS-CONTROL-LIST:.*-conf-$USER@$DOMAIN; repeatable
  --enrollment-url URL   https: URL of the enrollment server written into the configuration
                         (default https://localhost:6084/enroll; none with --self-signed)
  --landmark [KIND:]HOST:PORT
                         a landmark for topology-aware Node-IDs (port default 6084); KIND is
                         the link it listens on, tls (default), udp or tcp; repeatable
  --max-message-size N   max-message-size in bytes (default 65536: a ConfigUpdate carries the
                         whole signed document, and Fetch answers carry writers' certificates)
`;

export const DEFAULT_MAX_COUNT = 16;
export const DEFAULT_MAX_SIZE = 4096;
export const DEFAULT_MAX_NODE_MULTIPLE = 20;

/**
 * Parses HOST:PORT, [IPv6]:PORT, or HOST alone (then `defaultPort`). Throws UsageError
 * naming `what` on anything else.
 */
export function parseHostPort(text: string, what: string, defaultPort?: number): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (isIP(host) !== 6) throw new UsageError(`${what} ${text}: ${host} is not an IPv6 address`);
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (!host) throw new UsageError(`${what} ${text}: the host is missing`);
  if (isIP(host) === 0 && !isDnsName(host)) throw new UsageError(`${what} ${text}: ${host} is not a host name or IP address`);
  if (portText === undefined) {
    if (defaultPort === undefined) throw new UsageError(`${what} ${text}: the port is missing (HOST:PORT)`);
    return { host, port: defaultPort };
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) throw new UsageError(`${what} ${text}: port ${portText} is not 0..65535`);
  return { host, port: Number(portText) };
}

function positiveInt(text: string, what: string): number {
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < 1 || Number(text) > 0x7fffffff) {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a positive integer`);
  }
  return Number(text);
}

/** Parses one --kind SPEC (see the usage text). */
export function parseKindSpec(spec: string): KindDefinition {
  const f = spec.split(':');
  if (f.length !== 3 && f.length !== 5 && f.length !== 6) {
    throw new UsageError(`--kind ${spec}: expected NAME:MODEL:POLICY[:MAX-COUNT:MAX-SIZE[:MAX-NODE-MULTIPLE]]`);
  }
  const [nameText, modelText, policyText] = f as [string, string, string];
  let name: string | undefined;
  let id: number;
  const registeredName = Object.keys(IANA_KINDS).find((n) => n.toUpperCase() === nameText.toUpperCase());
  if (registeredName) {
    name = registeredName;
    id = IANA_KINDS[registeredName]!.id;
  } else if (/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(nameText)) {
    id = Number(nameText);
    if (!isPrivateKindId(id)) {
      throw new UsageError(
        `--kind ${spec}: Kind-ID ${nameText} is not in the private range 0x${PRIVATE_KIND_ID_MIN.toString(16).toUpperCase()}-0x${PRIVATE_KIND_ID_MAX.toString(16).toUpperCase()} (registered kinds go by name)`,
      );
    }
  } else {
    throw new UsageError(`--kind ${spec}: ${nameText} is neither an IANA kind name (${Object.keys(IANA_KINDS).join(', ')}) nor a Kind-ID number`);
  }
  const model = modelText.toUpperCase();
  if (model !== 'SINGLE' && model !== 'ARRAY' && model !== 'DICTIONARY') {
    throw new UsageError(`--kind ${spec}: data model ${modelText} is not single, array or dictionary`);
  }
  const policy = policyText.toUpperCase();
  if (!(ACCESS_CONTROL_POLICIES as readonly string[]).includes(policy)) {
    throw new UsageError(`--kind ${spec}: access control ${policyText} is not one of ${ACCESS_CONTROL_POLICIES.join(', ')}`);
  }
  const reg = name ? IANA_KINDS[name] : undefined;
  // RFC 6940 §11.1: for registered kinds the registry's model and policy are the ones that count.
  if (reg && (reg.dataModel !== model || reg.accessControl !== policy)) {
    throw new UsageError(`--kind ${spec}: ${name} is registered as ${reg.dataModel.toLowerCase()} with ${reg.accessControl}`);
  }
  const kind: KindDefinition = {
    name,
    id,
    dataModel: model,
    accessControl: policy,
    maxCount: f.length >= 5 ? positiveInt(f[3]!, `--kind ${spec} MAX-COUNT`) : DEFAULT_MAX_COUNT,
    maxSize: f.length >= 5 ? positiveInt(f[4]!, `--kind ${spec} MAX-SIZE`) : DEFAULT_MAX_SIZE,
    extensions: [],
    extensionAttributes: [],
  };
  if (f.length === 6) {
    if (policy !== 'NODE-MULTIPLE') throw new UsageError(`--kind ${spec}: MAX-NODE-MULTIPLE only goes with NODE-MULTIPLE`);
    kind.maxNodeMultiple = positiveInt(f[5]!, `--kind ${spec} MAX-NODE-MULTIPLE`);
  } else if (policy === 'NODE-MULTIPLE') {
    kind.maxNodeMultiple = reg?.maxNodeMultiple ?? DEFAULT_MAX_NODE_MULTIPLE;
  }
  return kind;
}

/**
 * Applies --share-pattern KIND:PATTERN options (RFC 8076 §5.3): each adds a pattern to the
 * kind's `share:variable-resource-names enable="true"` element.
 */
export function applySharePatterns(kinds: KindDefinition[], specs: string[]): void {
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    if (colon <= 0 || colon === spec.length - 1) throw new UsageError(`--share-pattern ${spec}: expected KIND:PATTERN`);
    const kindText = spec.slice(0, colon);
    const pattern = spec.slice(colon + 1);
    const byNumber = /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(kindText) ? Number(kindText) : undefined;
    const k = kinds.find((d) => (byNumber !== undefined ? d.id === byNumber : d.name?.toUpperCase() === kindText.toUpperCase()));
    if (!k) throw new UsageError(`--share-pattern ${spec}: kind ${kindText} is not given with --kind`);
    if (k.accessControl !== 'USER-CHAIN-ACL') throw new UsageError(`--share-pattern ${spec}: variable resource names need a USER-CHAIN-ACL kind, ${kindText} is ${k.accessControl}`);
    if (!pattern.includes('$USER') || !pattern.includes('$DOMAIN')) {
      throw new UsageError(`--share-pattern ${spec}: a pattern must contain both $USER and $DOMAIN (RFC 8076 §5.3)`);
    }
    k.shareVariableResourceNames ??= { enable: true, patterns: [] };
    k.shareVariableResourceNames.patterns.push(pattern);
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export const initOverlayCommand: Command = {
  name: 'init-overlay',
  summary: 'create an overlay: CA, operator identity, signed configuration',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      name: { type: 'string' },
      dir: { type: 'string' },
      'self-signed': { type: 'boolean' },
      bootstrap: { type: 'string', multiple: true },
      kind: { type: 'string', multiple: true },
      'share-pattern': { type: 'string', multiple: true },
      'enrollment-url': { type: 'string' },
      landmark: { type: 'string', multiple: true },
      'max-message-size': { type: 'string' },
    });
    const name = required(values, 'name');
    let maxMessageSize: number | undefined;
    if (values['max-message-size'] !== undefined) {
      maxMessageSize = Number(values['max-message-size']);
      if (!Number.isInteger(maxMessageSize) || maxMessageSize < 1024 || maxMessageSize > 0xffffff) {
        throw new UsageError(`--max-message-size ${String(values['max-message-size'])}: must be a whole number of bytes, 1024..16777215`);
      }
    }
    if (!isDnsName(name)) throw new UsageError(`--name ${name}: an overlay name must be a DNS name (e.g. overlay.example.org)`);
    const dir = required(values, 'dir');
    const bootstrapNodes: BootstrapNode[] = strings(values.bootstrap).map((b) => {
      const { host, port } = parseHostPort(b, '--bootstrap', 6084);
      // RFC 6940 §11.1: bootstrap-node carries an IP address.
      if (isIP(host) === 0) throw new UsageError(`--bootstrap ${b}: ${host} is not an IP address`);
      if (port === 0) throw new UsageError(`--bootstrap ${b}: port 0 is not a port`);
      return { address: host, port };
    });
    const landmarks: Landmark[] = strings(values.landmark).map((l) => {
      // An optional tls:/udp:/tcp: prefix, as in start --listen (a bare "udp:7000" stays HOST:PORT).
      const kind = /^(tls|udp|tcp):(?![0-9]*$)(.+)$/i.exec(l);
      const { host, port } = parseHostPort(kind ? kind[2]! : l, '--landmark', 6084);
      if (port === 0) throw new UsageError(`--landmark ${l}: port 0 is not a port`);
      return { address: host, port, ...(kind ? { transport: kind[1]!.toLowerCase() as LandmarkTransport } : {}) };
    });
    const kinds = strings(values.kind).map(parseKindSpec);
    const seen = new Set<number>();
    for (const k of kinds) {
      if (seen.has(k.id!)) throw new UsageError(`--kind ${k.name ?? k.id}: given more than once`);
      seen.add(k.id!);
    }
    applySharePatterns(kinds, strings(values['share-pattern']));
    const enrollmentUrl = values['enrollment-url'] as string | undefined;
    if (enrollmentUrl !== undefined) {
      let u: URL;
      try {
        u = new URL(enrollmentUrl);
      } catch {
        throw new UsageError(`--enrollment-url ${enrollmentUrl}: not a URL`);
      }
      if (u.protocol !== 'https:') throw new UsageError(`--enrollment-url ${enrollmentUrl}: must be an https: URL (RFC 6940 §11.3)`);
    }
    const overlay = await initOverlay({
      name,
      dir,
      selfSigned: values['self-signed'] === true,
      bootstrapNodes,
      kinds,
      enrollmentUrl,
      landmarks,
      ...(maxMessageSize !== undefined ? { maxMessageSize } : {}),
    });
    const p = overlayPaths(dir);
    const c = overlay.configuration;
    io.stdout.write(
      [
        `overlay ${c.instanceName} created in ${dir}`,
        `  CA certificate      ${p.caCert}`,
        `  operator identity   ${p.operatorCert} (Node-ID ${toHex(overlay.operator.nodeId)})`,
        `  configuration       ${p.config} (sequence ${c.sequence}, ${c.requiredKinds.length} kind(s))`,
        `  accounts            ${p.users}`,
        c.enrollmentServers.length ? `  enrollment URL      ${c.enrollmentServers.join(', ')}` : '  enrollment URL      (none: self-signed certificates only)',
        '',
      ].join('\n'),
    );
    return 0;
  },
};
