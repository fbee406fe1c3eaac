/**
 * The status page's HTTP server (`reload-node start --status HOST:PORT`): node:http on
 * loopback by default, serving the page at / and its data at /api/status. Only GET and HEAD
 * are answered; anything else gets a JSON error (404 unknown path, 405 other method, 400
 * bad request line, 500 if building the data failed) and the server carries on.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReloadNode } from '../node/node.js';
import { statusPageHtml } from './page.js';
import { type ExtraSections, statusSnapshot } from './snapshot.js';

export interface StatusServerOptions {
  /** Address to listen on. @default '127.0.0.1' (loopback: the page shows the node's internals) */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Sections besides the usages' own (title → producer). */
  sections?: ExtraSections;
}

export interface StatusServer {
  /** http://host:port/ */
  readonly url: string;
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** Security headers: the page loads nothing from elsewhere and runs only its inline script. */
const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

const ROUTES = new Set(['/', '/index.html', '/api/status']);

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean, extra: Record<string, string> = {}): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': String(bytes.length), ...extra });
  res.end(head ? undefined : bytes);
}

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head, extra);
}

/** Starts serving the status of `node`. */
export async function serveStatus(node: ReloadNode, opts: StatusServerOptions = {}): Promise<StatusServer> {
  const page = statusPageHtml();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Request bodies are never read: drain them so the connection can be reused.
    req.resume();
    const method = req.method ?? '';
    const head = method === 'HEAD';
    let path: string;
    try {
      path = new URL(req.url ?? '', 'http://status.invalid').pathname;
    } catch {
      sendJson(res, 400, { error: 'bad request', message: 'unparsable request target' }, head);
      return;
    }
    if (!ROUTES.has(path)) {
      sendJson(res, 404, { error: 'not found', path, paths: [...ROUTES] }, head);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed', method, allowed: ['GET', 'HEAD'] }, false, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/api/status') {
      const snapshot = await statusSnapshot(node, opts.sections);
      sendJson(res, 200, snapshot, head);
      return;
    }
    send(res, 200, 'text/html; charset=utf-8', page, head);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      node.log.warn('status page request failed', { url: req.url, error: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', message: err.message }, req.method === 'HEAD');
      else res.destroy();
    });
  });
  // A malformed request line never reaches the handler: answer it and keep serving.
  server.on('clientError', (_err, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = '{"error":"bad request"}\n';
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${shownHost}:${a.port}/`,
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
