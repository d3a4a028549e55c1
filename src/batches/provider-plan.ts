/**
 * Whether a new batch is passed through to a provider's own batch API (issue 21;
 * docs/batches.md, "Provider batch pass-through"), decided once, when it is created: every
 * line names the same model, the caller may use it, its route has a target on a provider
 * named by `batches.passthrough` whose batch API takes the batch's endpoint. The first such
 * target in the route's order is taken (a batch goes to one provider batch; the route's
 * strategy, which picks per request, does not apply). Otherwise the batch runs line by line
 * through the pipeline, as without pass-through.
 */
import type { CompiledRoute } from '../config/compile.js';
import type { Principal } from '../exchange/principal.js';
import { batchApiOf } from '../providers/batch.js';
import type { ProviderAdapter } from '../providers/types.js';
import type { ModelPrice, PriceBook } from '../tokens/prices.js';
import type { InputLine } from './input.js';

/** Where a passed-through batch goes, stored with it (provider_batches). */
export interface PassthroughPlan {
  readonly provider: string;
  readonly route: string;
  /** The model the lines name (the client's). */
  readonly model: string;
  /** The model sent upstream: the target's, else the client's. */
  readonly targetModel: string;
  /** The target's list price (the batch multiplier is applied when usage is recorded); null: unknown. */
  readonly price: ModelPrice | null;
}

/** What planning reads of the config version serving now. */
export interface PassthroughSources {
  /** `batches.passthrough`: true = every provider with a batch API, or the names of those that pass through. */
  readonly providers: boolean | readonly string[];
  readonly route: (model: string) => CompiledRoute | null;
  readonly adapters: () => ReadonlyMap<string, ProviderAdapter>;
  readonly prices: () => PriceBook;
}

/** The model every line names, or null when they differ or one names none (OpenAI's batches take one model too). */
function modelOf(lines: readonly InputLine[]): string | null {
  let model: string | null = null;
  for (const l of lines) {
    let body: unknown;
    try {
      body = JSON.parse(l.body);
    } catch {
      return null;
    }
    const m = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
    if (typeof m !== 'string' || m === '' || (model !== null && m !== model)) return null;
    model = m;
  }
  return model;
}

/** The plan for a batch about to be created, or null to run it line by line. */
export function planPassthrough(sources: PassthroughSources, endpoint: string, lines: readonly InputLine[], principal: Principal): PassthroughPlan | null {
  if (sources.providers === false || lines.length === 0) return null;
  const model = modelOf(lines);
  if (model === null) return null;
  // A key limited to some models: the pipeline decides per line (and refuses what it must).
  if (principal.models !== null && !principal.models.includes(model)) return null;
  const route = sources.route(model);
  if (route === null) return null;
  const adapters = sources.adapters();
  for (const target of route.targets) {
    if (sources.providers !== true && !sources.providers.includes(target.provider)) continue;
    const adapter = adapters.get(target.provider);
    const api = adapter === undefined ? null : batchApiOf(adapter);
    if (api === null || !api.endpoints.has(endpoint)) continue;
    const targetModel = target.model ?? model;
    return { provider: target.provider, route: route.name, model, targetModel, price: target.price ?? sources.prices().lookup(targetModel) };
  }
  return null;
}
