import type { CompiledRoute } from '../config/compile.js';
import { compileGlob, isGlob } from '../lib/glob.js';

interface GlobEntry {
  readonly re: RegExp;
  readonly route: CompiledRoute;
  readonly order: number;
}

/**
 * Maps a requested model name to its route. Exact names are a map lookup; globs are tried in
 * config order. When both an exact name and a glob match, the route declared first wins, so
 * the config reads top to bottom like a firewall table.
 */
export class RouteTable {
  readonly #exact = new Map<string, { route: CompiledRoute; order: number }>();
  readonly #globs: GlobEntry[] = [];
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly CompiledRoute[]) {
    this.#routes = routes;
    routes.forEach((route, order) => {
      for (const pattern of route.patterns) {
        if (isGlob(pattern)) this.#globs.push({ re: compileGlob(pattern), route, order });
        else if (!this.#exact.has(pattern)) this.#exact.set(pattern, { route, order });
      }
    });
  }

  match(model: string): CompiledRoute | null {
    const exact = this.#exact.get(model);
    for (const g of this.#globs) {
      if (exact !== undefined && g.order > exact.order) break;
      if (g.re.test(model)) return g.route;
    }
    return exact?.route ?? null;
  }

  /**
   * The model names a client can ask for: exact route names, and each target's concrete
   * model when it routes back to a route (as `gpt-4o` does under `gpt-4o*`).
   */
  models(): string[] {
    const names = new Set<string>();
    for (const route of this.#routes) {
      for (const p of route.patterns) if (!isGlob(p)) names.add(p);
      for (const t of route.targets) if (t.model !== null && this.match(t.model) !== null) names.add(t.model);
    }
    return [...names];
  }
}
