/**
 * POST /v1/messages/count_tokens (issue 18): the prompt tokens of an Anthropic Messages request,
 * routed by its model. When the route has an `anthropic`-type target, the request is passed to
 * that provider's count_tokens and its answer comes back as is; otherwise the gateway counts
 * with its own tokenizer (o200k_base, an OpenAI tokenizer: other models' counts differ) and
 * marks the answer `x-sluice-estimated: true`. Same guard as the model endpoints. Not a model
 * call: no limits, budget, cache or usage record.
 */
import { SluiceError, toSluiceError } from '../../errors.js';
import type { JsonObject, ProviderCall } from '../../providers/types.js';
import { estimateUsage, loadTokenizer } from '../../tokens/tokenizer.js';
import { Cancellation } from '../../lib/cancel.js';
import type { Logger } from 'pino';
import type { Pipelines } from '../../exchange/pipelines.js';
import type { Guard } from '../../policies/guard.js';
import { logInternal, writeErrorBody, writeJson, type ModelExchange } from '../respond.js';
import { anthropicErrorBody } from './errors.js';
import { Refusals, anthropicRequestToOpenAI } from './request.js';

/** The header that marks a count the gateway estimated rather than the provider counted. */
export const ESTIMATED_HEADER = 'x-sluice-estimated';
const ESTIMATED = { [ESTIMATED_HEADER]: 'true' } as const;

/** What counting needs of the surface (endpoints.ts SurfaceDeps has it all). */
export interface CountTokensDeps {
  readonly pipelines: () => Pipelines;
  readonly guard: Guard;
  readonly logger: Logger;
}

export function countTokens(deps: CountTokensDeps): (x: ModelExchange) => Promise<void> {
  return async (x) => {
    const cancel = new Cancellation();
    const onClose = (): void => cancel.abort(new SluiceError('SLUICE_ERR_CLIENT_CLOSED'));
    x.res.once('close', onClose);
    try {
      // count_tokens takes no max_tokens; the Messages checks want one. What only an Anthropic
      // provider can count (server tools, unknown blocks) is refused only when none will.
      const raw = typeof x.body === 'object' && x.body !== null && !Array.isArray(x.body) ? (x.body as JsonObject) : null;
      const refusals = new Refusals(false);
      const canonical = anthropicRequestToOpenAI(raw === null ? x.body : { max_tokens: 1, ...raw }, refusals);
      await deps.guard.check(x.ip, x.headers);
      const pipelines = deps.pipelines();
      const model = canonical.model as string;
      const route = pipelines.table.match(model);
      if (route === null) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { message: `No route serves the model ${JSON.stringify(model)}.`, param: 'model' });
      const target = pipelines.runtime(route)?.targets.find((t) => t.adapter.countTokens !== undefined);
      if (target !== undefined && raw !== null) {
        const call: ProviderCall = {
          endpoint: 'chat',
          body: { model: target.config.model ?? model },
          bodyText: null,
          stream: false,
          includeUsage: false,
          signal: cancel,
          requestId: x.id,
          timeouts: target.config.timeouts,
          native: { schema: 'anthropic-messages', body: raw, text: x.text, headers: x.headers, refusal: null },
        };
        const answer = await target.adapter.countTokens!(call);
        writeJson(x.res, answer.status, answer.body, x.id, x.base, null);
        return;
      }
      if (refusals.first !== null) throw refusals.first;
      const count = await loadTokenizer();
      const usage = estimateUsage('chat', canonical, null, count);
      writeJson(x.res, 200, JSON.stringify({ input_tokens: usage.promptTokens }), x.id, x.base, ESTIMATED);
    } catch (err) {
      if (cancel.aborted) return;
      const e = toSluiceError(err);
      logInternal(deps.logger, e, x.id);
      writeErrorBody(x.res, e, anthropicErrorBody(e, x.id), x.id, x.base, null);
    } finally {
      x.res.removeListener('close', onClose);
    }
  };
}
