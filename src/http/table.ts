/**
 * Which service, if any, takes a request. The most specific service wins: one naming the
 * host before any-host ones, then the longest path prefix, then config order.
 *
 * Sluice's own endpoints keep priority over a service that merely covers them: a service on
 * `/` or `/v1/` does not take `/v1/chat/completions`, `/health` or `/admin/keys`. A service
 * takes such a path only by claiming it explicitly, with a `pathPrefix` at or under it
 * (`/v1/chat/completions`, `/metrics`, `/admin/`), so the model surfaces never change hands by
 * accident.
 */
const OWN_PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/messages', '/v1/models', '/health', '/ready', '/metrics'];
const OWN_PREFIXES = ['/admin/'];

export interface Matchable {
  readonly service: { readonly host: string | null; readonly pathPrefix: string; readonly methods: ReadonlySet<string> | null };
}

export class ServiceTable<T extends Matchable> {
  readonly #entries: readonly T[];

  constructor(entries: readonly T[]) {
    // A stable sort keeps config order among equals.
    this.#entries = [...entries].sort((a, b) => Number(b.service.host !== null) - Number(a.service.host !== null) || b.service.pathPrefix.length - a.service.pathPrefix.length);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** `host` is the Host header as sent; `url` the request target (path and query). */
  match(host: string | undefined, url: string, method: string): T | null {
    if (this.#entries.length === 0) return null;
    const path = url.split('?', 1)[0]!;
    const h = normalizeHost(host);
    const own = ownPath(path);
    for (const e of this.#entries) {
      const s = e.service;
      if (s.host !== null && s.host !== h) continue;
      if (!underPrefix(path, s.pathPrefix)) continue;
      if (s.methods !== null && !s.methods.has(method)) continue;
      if (own !== null && !s.pathPrefix.startsWith(own)) continue;
      return e;
    }
    return null;
  }
}

/** The gateway endpoint (or endpoint prefix) a path belongs to, else null. */
function ownPath(path: string): string | null {
  for (const p of OWN_PATHS) if (path === p || path === `${p}/`) return p;
  for (const p of OWN_PREFIXES) if (path.startsWith(p) || `${path}/` === p) return p;
  return null;
}

/** `/api` covers `/api`, `/api/x` and `/api?q`, not `/apix`; `/api/` covers what starts with it. */
export function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith('/') || path.length === prefix.length || path[prefix.length] === '/';
}

function normalizeHost(host: string | undefined): string | null {
  if (host === undefined) return null;
  const h = host.toLowerCase();
  // Strip a port, but not the colons of a bracketed IPv6 literal.
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
}
