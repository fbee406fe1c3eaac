/**
 * RELOAD over plain TCP with the framed header (the TLS-TCP-FH framing of RFC 6940
 * §6.6.3.2 without the TLS): for lab captures only, where Wireshark should read the
 * FramedMessages directly. The node offers it only behind the `--insecure-link` switch.
 * No peer authentication, no confidentiality: `Connection.peerCertificate` is undefined,
 * and only the end-to-end message signatures (RFC 6940 §13) protect the traffic. Framing,
 * acks, RTT and failure detection are exactly those of the TLS link (src/link/stream.ts).
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { type StreamLinkOptions, StreamTransport } from './stream.js';
import type { LinkAddress, LinkErrorReason } from './types.js';

export type TcpTransportOptions = StreamLinkOptions;

export class TcpTransport extends StreamTransport {
  readonly kind = 'tcp' as const;

  constructor(options: TcpTransportOptions) {
    super(options);
  }

  protected createServer(): Server {
    return createServer((socket) => this.accept(socket));
  }

  protected dial(address: LinkAddress): { socket: Socket; ready: 'connect' } {
    return { socket: createConnection({ host: address.host, port: address.port }), ready: 'connect' };
  }

  protected authenticate(): undefined {
    return undefined;
  }

  protected classify(): LinkErrorReason {
    return 'connect-failed';
  }
}
