/**
 * A local file server for pull tests (node:http on 127.0.0.1, a free port): serves `files` by
 * name with Content-Length and HTTP Range, and can misbehave on purpose: cut the connection
 * after some bytes of a body, or send the body slowly. No test touches the real network.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  url: string;
  /** every request seen: path and headers */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** name → bytes served */
  files: Map<string, Uint8Array>;
  /** the next `count` bodies are cut (the connection dropped) after `bytes` bytes */
  cutNext(count: number, bytes: number): void;
  /** send bodies in `chunk`-byte pieces, `delayMs` apart */
  throttle(chunk: number, delayMs: number): void;
  close(): Promise<void>;
}

export async function startFileServer(files: Record<string, Uint8Array> = {}): Promise<FileServer> {
  const served = new Map(Object.entries(files));
  const requests: FileServer['requests'] = [];
  let cuts = 0;
  let cutAt = 0;
  let pace: { chunk: number; delayMs: number } | undefined;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    requests.push({ path, headers: req.headers });
    const body = served.get(path);
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Length': body.length - start,
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { 'Content-Length': body.length });
    }
    const rest = body.subarray(start);
    if (cuts > 0) {
      cuts--;
      // The cut comes a moment after the bytes (a web stream that errors drops the chunks its
      // reader has not taken yet), so how much arrived is the same on every run.
      res.write(rest.subarray(0, cutAt), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    if (!pace) {
      res.end(rest);
      return;
    }
    const { chunk, delayMs } = pace;
    let at = 0;
    const next = (): void => {
      if (at >= rest.length) {
        res.end();
        return;
      }
      res.write(rest.subarray(at, at + chunk));
      at += chunk;
      setTimeout(next, delayMs);
    };
    next();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files: served,
    cutNext(count, bytes) {
      cuts = count;
      cutAt = bytes;
    },
    throttle(chunk, delayMs) {
      pace = { chunk, delayMs };
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
