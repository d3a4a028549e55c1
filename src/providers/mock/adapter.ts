/**
 * The in-process mock provider: the mock engine behind the adapter contract, with no HTTP.
 * It reproduces what an upstream does to the gateway (latency, error statuses, paced streams,
 * streams cut mid-way) so routing, retries and streaming are testable without a network.
 */
import { SluiceError } from '../../errors.js';
import { MockEngine, chatRefusal, type OpenAiUsage } from '../../mock/engine.js';
import type { MockOptions } from '../../mock/options.js';
import { Pacer, sleep } from '../../mock/sleep.js';
import { upstreamStatusError } from '../upstream-error.js';
import type { ProviderAdapter, ProviderCall, ProviderResponse, StreamResponse, Usage } from '../types.js';
import type { CancelSignal } from '../../lib/cancel.js';

export class MockAdapter implements ProviderAdapter {
  readonly type = 'mock';
  private readonly engine: MockEngine;

  constructor(
    readonly name: string,
    private readonly options: MockOptions,
  ) {
    this.engine = new MockEngine(options);
  }

  async send(call: ProviderCall): Promise<ProviderResponse> {
    const { signal } = call;
    if (!(await sleep(this.options.latencyMs, signal))) throw abortError(signal);

    // What a text-only model refuses (audio, image generation) or a parameter out of bounds: a
    // 400 before any fault, as a real upstream validates before it fails.
    const refusal = call.endpoint === 'chat' ? chatRefusal(call.body) : null;
    if (refusal !== null) throw new SluiceError(refusal.kind === 'modality' ? 'SLUICE_ERR_UNSUPPORTED_MODALITY' : 'SLUICE_ERR_INVALID_REQUEST', { message: refusal.message, param: refusal.param });

    const fault = this.engine.nextFault();
    if (fault !== null) {
      const body = JSON.stringify(this.engine.errorBody(fault.status));
      throw upstreamStatusError(fault.status, body, fault.retryAfter === null ? null : String(fault.retryAfter));
    }

    if (call.endpoint === 'embeddings') {
      const obj = this.engine.embeddings(call.body);
      const usage = { promptTokens: obj.usage.prompt_tokens, cachedPromptTokens: 0, completionTokens: 0, totalTokens: obj.usage.total_tokens };
      return { kind: 'json', status: 200, body: JSON.stringify(obj), usage };
    }
    const isChat = call.endpoint === 'chat';
    if (!call.stream) {
      const obj = isChat ? this.engine.chatCompletion(call.body) : this.engine.completion(call.body);
      return { kind: 'json', status: 200, body: JSON.stringify(obj), usage: obj.usage ? toUsage(obj.usage) : null };
    }
    const chunks: object[] = isChat
      ? this.engine.chatChunks(call.body, call.includeUsage)
      : this.engine.completionChunks(call.body, call.includeUsage);
    // The usage is known up front, but is reported only for a stream that completed, as a real
    // upstream cannot report it for a stream it did not finish.
    return this.stream(chunks, toUsage(isChat ? this.engine.usage(call.body) : this.engine.answer(call.body).usage), signal);
  }

  /** Healthy unless configured to answer every request with an error status. */
  async probe(signal: AbortSignal): Promise<void> {
    if (!(await sleep(this.options.latencyMs, signal))) throw abortError(signal);
    const status = this.options.status;
    if (status !== null) throw upstreamStatusError(status, JSON.stringify(this.engine.errorBody(status)), null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private stream(chunks: object[], total: Usage, signal: CancelSignal): StreamResponse {
    const { tokensPerSecond, dropAfterChunks: drop } = this.options;
    let usage: Usage | null = null;
    async function* generate(): AsyncGenerator<string> {
      // Pacing starts at the first pull, like an upstream that starts sending once committed.
      const pacer = new Pacer(tokensPerSecond);
      for (let i = 0; i < chunks.length; i++) {
        if (drop !== null && i >= drop) break;
        if (!(await pacer.wait(i, signal))) throw abortError(signal);
        yield JSON.stringify(chunks[i]);
      }
      if (drop !== null) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED');
      usage = total;
    }
    return { kind: 'stream', status: 200, chunks: generate(), usage: () => usage };
  }
}

function toUsage(u: OpenAiUsage): Usage {
  return { promptTokens: u.prompt_tokens, cachedPromptTokens: 0, completionTokens: u.completion_tokens, totalTokens: u.total_tokens };
}

/**
 * What an aborted call rejects with: the signal's reason, as fetch and undici do, so the caller
 * sees the error it aborted with (a SluiceError timeout, say); a generic SluiceError otherwise.
 */
function abortError(signal: CancelSignal): unknown {
  const reason: unknown = signal.reason;
  return reason ?? new SluiceError('SLUICE_ERR_UPSTREAM_UNREACHABLE', { message: 'The mock call was aborted.' });
}
