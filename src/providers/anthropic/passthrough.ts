/**
 * Native pass-through (issue 18): an Anthropic client's request to an Anthropic provider goes
 * upstream as the client sent it, and the answer comes back as the provider sent it: thinking
 * blocks and their signatures, redacted_thinking, cache_control, server tools, citations and
 * fields Sluice does not know all survive. Sluice sets only the model (the target's), the
 * credentials (the provider's) and `anthropic-version` when the client sent none. Usage is
 * still read from the answer, for accounting and limits. Pure: the adapter does the I/O.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { SluiceError } from '../../errors.js';
import type { SseEvent } from '../../upstream/sse.js';
import { badResponse } from '../http/errors.js';
import { isRecord, parseObject, str } from '../http/json.js';
import type { ChunkTranslator } from '../http/stream.js';
import { usageOf } from '../openai/types.js';
import type { NativeRequest, Usage } from '../types.js';
import { anthropicStreamError } from './errors.js';
import { usageFromAnthropic } from './response.js';

/** The body sent upstream: the client's text when the model is unchanged, else its object with the target's model. */
export function passThroughBody(native: NativeRequest, model: unknown): string {
  if (native.text !== null && native.body.model === model) return native.text;
  return JSON.stringify({ ...native.body, model });
}

function headerText(v: string | string[] | undefined): string | null {
  if (Array.isArray(v)) return v.length === 0 ? null : v.join(',');
  return v === undefined || v === '' ? null : v;
}

/**
 * The Anthropic headers of a passed-through call: the client's `anthropic-version` (else the
 * provider's), and `anthropic-beta` from the provider's headers and the client's, both kept.
 */
export function passThroughHeaders(client: IncomingHttpHeaders, providerHeaders: Readonly<Record<string, string>>, defaultVersion: string): Record<string, string> {
  const out: Record<string, string> = { 'anthropic-version': headerText(client['anthropic-version']) ?? defaultVersion };
  const betas = new Set<string>();
  for (const v of [providerHeaders['anthropic-beta'], headerText(client['anthropic-beta'])]) {
    if (v === undefined || v === null) continue;
    for (const b of v.split(',')) if (b.trim() !== '') betas.add(b.trim());
  }
  if (betas.size > 0) out['anthropic-beta'] = [...betas].join(',');
  return out;
}

/** The usage of a whole Anthropic message (JSON text), normalised; the text itself goes to the client unchanged. */
export function passThroughUsage(text: string, provider: string): Usage | null {
  const message = parseObject(text);
  if (message === null) throw badResponse(provider, 'a body that is not a JSON object');
  const u = usageFromAnthropic(message.usage);
  return u === null ? null : usageOf(u);
}

/** The SSE text of one event, as it came (comments and ids, which Anthropic does not send, aside). */
function frame(event: SseEvent): string {
  const head = event.event === null ? '' : `event: ${event.event}\n`;
  const data = event.data.includes('\n') ? event.data.split('\n').join('\ndata: ') : event.data;
  return `${head}data: ${data}\n\n`;
}

/**
 * An Anthropic stream passed through event by event, reading usage on the way (message_start
 * and the cumulative message_delta). The commit point is the first content block or
 * message_delta: an `error` event before it (an `overloaded_error` after a 200) fails the
 * attempt, so it can still be retried or fall back; after it, the stream is interrupted and
 * the client gets an `error` event.
 */
/** Events whose data the pass-through need not read (once content has started, a delta cannot commit anything new). */
const PASSED_UNREAD: ReadonlySet<string> = new Set(['content_block_delta', 'content_block_stop', 'ping']);

export class AnthropicPassThroughStream implements ChunkTranslator {
  committed = false;
  readonly #provider: string;
  readonly #usage: Record<string, unknown> = {};
  #done = false;

  constructor(provider: string) {
    this.#provider = provider;
  }

  push(event: SseEvent): string[] {
    // Most of a stream is deltas, which carry no usage and decide nothing: passed on by their
    // event name without parsing their JSON (a stream without event names is parsed whole).
    if (event.event !== null && PASSED_UNREAD.has(event.event)) return [frame(event)];
    const data = parseObject(event.data);
    if (data === null) throw badResponse(this.#provider, `a stream event that is not a JSON object (${event.event ?? 'unnamed'})`);
    switch (str(data.type) ?? event.event) {
      case 'message_start':
        if (isRecord(data.message)) this.#merge(data.message.usage);
        break;
      case 'content_block_start':
        this.committed = true;
        break;
      case 'message_delta':
        this.committed = true;
        this.#merge(data.usage);
        break;
      case 'message_stop':
        this.#done = true;
        break;
      case 'error':
        throw anthropicStreamError(this.#provider, data, this.committed);
      default:
        break;
    }
    return [frame(event)];
  }

  end(): string[] {
    if (!this.#done) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended without message_stop.` });
    return [];
  }

  usage(): Usage | null {
    const u = usageFromAnthropic(this.#usage);
    return u === null ? null : usageOf(u);
  }

  #merge(u: unknown): void {
    if (!isRecord(u)) return;
    for (const [k, v] of Object.entries(u)) if (v !== null && v !== undefined) this.#usage[k] = v;
  }
}
