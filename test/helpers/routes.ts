import { compileConfig, type CompiledRoute } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';

/**
 * A compiled route with every policy at its default, as the config compiler builds it, for
 * tests that need a route without a whole gateway.
 */
export function compiledRoute(name: string, patterns: string[], models: (string | null)[] = [null]): CompiledRoute {
  const raw = { providers: { p: { type: 'mock' } }, routes: [{ name, match: patterns, targets: models.map((model) => (model === null ? { provider: 'p' } : { provider: 'p', model })) }] };
  return compileConfig(validateConfig(raw, 'test', {}), 'test').routes[0]!;
}
