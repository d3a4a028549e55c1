import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../edge/edge.js';
import { sendError } from './fastify-errors.js';
import { CONSOLE_CSS, CONSOLE_PAGE } from './console-page.js';

/** Where `npm run build` puts the console's browser code (console/tsconfig.json). */
export const CONSOLE_BUILD_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * No inline script or style, nothing from another origin; the API is called on this origin
 * only; the page may not be framed.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { body: bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` };
}

/** The compiled browser modules under `dir`, by their path below it (`main.js`, `pages/keys.js`). */
function loadScripts(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.js')) out.set(relative(dir, path).split(sep).join('/'), asset(readFileSync(path), 'text/javascript; charset=utf-8'));
    }
  };
  walk(dir);
  return out;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * The web console at /console (issue 20): the page, its style sheet and its compiled browser
 * modules, read into memory once. Assets are revalidated by ETag on every load (`no-cache`:
 * their names carry no version), the page is never stored. Everything it shows it reads from
 * the admin API with the signed-in token or session; it has no access of its own. Returns
 * false, serving nothing, when the browser code was not built.
 */
export function registerConsole(app: FastifyInstance, dir: string = CONSOLE_BUILD_DIR): boolean {
  if (!existsSync(join(dir, 'main.js'))) return false;
  const scripts = loadScripts(dir);
  const page = asset(CONSOLE_PAGE, 'text/html; charset=utf-8');
  const css = asset(CONSOLE_CSS, 'text/css; charset=utf-8');

  const send = (request: FastifyRequest, reply: FastifyReply, a: Asset, cache: string): FastifyReply => {
    securityHeaders(reply).header('cache-control', cache).header('etag', a.etag).header('content-type', a.type);
    if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  };
  app.get('/console', (request, reply) => send(request, reply, page, 'no-store'));
  app.get('/console/', (request, reply) => send(request, reply, page, 'no-store'));
  app.get<{ Params: { '*': string } }>('/console/assets/*', (request, reply) => {
    const name = request.params['*'];
    const a = name === 'console.css' ? css : scripts.get(name);
    if (a !== undefined) return send(request, reply, a, 'no-cache');
    sendError(securityHeaders(reply), notFound(request.method, request.url.split('?', 1)[0]!));
    return reply;
  });
  return true;
}
