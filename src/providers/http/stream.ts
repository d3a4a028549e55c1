/**
 * Runs a provider's SSE body through a chunk translator and exposes it as the adapter
 * contract's StreamResponse. Shared by every adapter whose upstream streams SSE, so reading,
 * error mapping and the commit point behave the same for all of them.
 */
import { mapUpstreamError } from '../../upstream/errors.js';
import { parseSse, type SseEvent } from '../../upstream/sse.js';
import type { StreamResponse, Usage } from '../types.js';

/**
 * Turns one provider's stream events into OpenAI chunk JSON. Pure: no I/O, no clock.
 * `push` and `end` throw a SluiceError when the provider reports an error or stops early.
 */
export interface ChunkTranslator {
  /** Chunks to send for one upstream event (often none). */
  push(event: SseEvent): string[];
  /** The upstream body ended: final chunks, or a throw when the stream was incomplete. */
  end(): string[];
  /**
   * True once a chunk with answer content (text, a tool call, a finish reason) was produced.
   * Before that, a failure is reported as an upstream error that retries and fallbacks can
   * act on; after it, as an interrupted stream.
   */
  readonly committed: boolean;
  /** Usage known so far; complete once the stream ended normally. */
  usage(): Usage | null;
}

async function* translate(provider: string, body: AsyncIterable<Uint8Array>, translator: ChunkTranslator): AsyncGenerator<string> {
  try {
    for await (const event of parseSse(body)) {
      for (const chunk of translator.push(event)) yield chunk;
    }
  } catch (err) {
    throw mapUpstreamError(err, provider, true);
  }
  for (const chunk of translator.end()) yield chunk;
}

async function* replay(head: readonly string[], rest: AsyncGenerator<string> | null): AsyncGenerator<string> {
  for (const chunk of head) yield chunk;
  if (rest !== null) yield* rest;
}

/**
 * Reads the stream until the translator has committed (or the stream ended), then resolves.
 * So an error the provider sends as the first event (Anthropic's `overloaded_error` after a
 * 200, a Gemini safety block) rejects here, before any byte went to the client, and the
 * router can still retry or fall back. The chunks read so far are replayed first.
 */
export async function openTranslatedStream(provider: string, status: number, body: AsyncIterable<Uint8Array>, translator: ChunkTranslator): Promise<StreamResponse> {
  const source = translate(provider, body, translator);
  const head: string[] = [];
  let ended = false;
  while (!translator.committed) {
    const next = await source.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    head.push(next.value);
  }
  return { kind: 'stream', status, chunks: replay(head, ended ? null : source), usage: () => translator.usage() };
}
