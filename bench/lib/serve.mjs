// The benchmark's static server: a fixed table of URL prefixes to directories and of URL paths to
// single files, on 127.0.0.1 only. Every response is cross-origin isolated (COOP/COEP), which the
// page needs for performance.measureUserAgentSpecificMemory(); no contender uses threads or
// SharedArrayBuffer.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const MIME = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.mjs', 'text/javascript; charset=utf-8'],
  ['.json', 'application/json; charset=utf-8'],
  ['.wasm', 'application/wasm'],
  ['.ndjson', 'application/x-ndjson'],
]);

const HEADERS = {
  'Cache-Control': 'no-cache',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * Resolves a request path against `files` (exact URL path -> file) and then `dirs`
 * ([prefix, directory] pairs, first match wins). Returns null for anything outside them.
 */
async function locate(pathname, { files, dirs }) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  let file = files.get(decoded);
  if (!file) {
    const mount = dirs.find(([prefix]) => decoded.startsWith(prefix));
    if (!mount) return null;
    const rest = decoded.slice(mount[0].length);
    if (rest === '' || rest.split('/').some((part) => part === '..' || part === '')) return null;
    let root;
    try {
      root = await realpath(mount[1]);
    } catch {
      return null;
    }
    file = resolve(root, rest);
    if (!file.startsWith(root + sep)) return null;
  }
  try {
    const info = await stat(file);
    return info.isFile() ? { file, size: info.size } : null;
  } catch {
    return null;
  }
}

/**
 * Starts the server on a free loopback port and resolves with `{ url, close }`.
 * `files` maps URL paths to files; `dirs` is a list of [URL prefix, directory].
 */
export async function startServer({ files = new Map(), dirs = [] }) {
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const found = await locate(pathname === '/' ? '/index.html' : pathname, { files, dirs });
    if (!found) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
      res.end('Not Found\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME.get(extname(found.file).toLowerCase()) ?? 'application/octet-stream',
      'Content-Length': found.size,
      ...HEADERS,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(found.file, { highWaterMark: 1 << 20 });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
