// A dependency-free static server for the dashboard: serves www/ at /, and the wasm-pack output
// pkg/ at /pkg/. Listens on 127.0.0.1 only; the port comes from $PORT (default 8080, 0 picks a
// free one). Prints the URL once listening.
//
//   node scripts/serve.mjs

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

const MIME = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.mjs', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.json', 'application/json; charset=utf-8'],
  ['.wasm', 'application/wasm'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.ndjson', 'application/x-ndjson'],
  ['.gz', 'application/gzip'],
  ['.ts', 'text/plain; charset=utf-8'],
]);

/**
 * Sent with every response, so that the page's worker, which no <meta> policy reaches, runs
 * under the same policy as the pages: scripts only from here (and wasm compilation), no inline
 * scripts or styles, and fetches to the page's own files or to a URL the user gives.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https:",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** URL prefixes and the directories they map to; the first match wins. */
const MOUNTS = [
  { prefix: '/pkg/', dir: join(repo, 'pkg') },
  { prefix: '/', dir: join(repo, 'www') },
];

/**
 * Maps a request path to a file inside one of the mounts, or returns null when the path is
 * malformed or would leave the mount (`..`, encoded separators, NUL bytes, symlinks out).
 */
async function locate(urlPath, mounts = MOUNTS) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const mount = mounts.find((m) => decoded.startsWith(m.prefix));
  if (!mount) return null;
  const rest = decoded.slice(mount.prefix.length);
  if (rest.split('/').some((part) => part === '..')) return null;

  let root;
  try {
    root = await realpath(mount.dir);
  } catch {
    return null;
  }
  let file = resolve(root, rest);
  if (file !== root && !file.startsWith(root + sep)) return null;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file);
    }
    if (!info.isFile()) return null;
    const real = await realpath(file);
    if (!real.startsWith(root + sep)) return null;
    return { file: real, size: info.size };
  } catch {
    return null;
  }
}

function send(res, status, text) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

/** Answers one request with a file of www/ or pkg/ (GET and HEAD only). */
export function serveStatic(req, res) {
  return serveFrom(MOUNTS, req, res);
}

/**
 * A handler serving other folders the same way: `mounts` is [{ prefix, dir }], the first match
 * wins; `csp: false` leaves out the Content-Security-Policy header (a page of its own, such as
 * an example app, brings its own policy).
 */
export function staticHandler(mounts, { csp = true } = {}) {
  return (req, res) => serveFrom(mounts, req, res, csp);
}

async function serveFrom(mounts, req, res, csp = true) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'Method Not Allowed\n');
    return;
  }
  let pathname;
  try {
    pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    send(res, 400, 'Bad Request\n');
    return;
  }
  const found = await locate(pathname, mounts);
  if (!found) {
    send(res, 404, 'Not Found\n');
    return;
  }
  res.writeHead(200, {
    'Content-Type': MIME.get(extname(found.file).toLowerCase()) ?? 'application/octet-stream',
    'Content-Length': found.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...(csp ? { 'Content-Security-Policy': CSP } : {}),
    'Referrer-Policy': 'no-referrer',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(found.file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Creates the server (not yet listening). */
export function createStaticServer() {
  return createServer(serveStatic);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const raw = process.env.PORT ?? '8080';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    console.error(`serve.mjs: PORT must be a number from 0 to 65535, got '${raw}'`);
    process.exit(2);
  }
  const server = createStaticServer();
  server.on('error', (err) => {
    console.error(`serve.mjs: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, HOST, () => {
    const { port: actual } = server.address();
    console.log(`Serving llm-metrics at http://${HOST}:${actual}/`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
  }
}
