/**
 * Request batching for embeddings (issue 21): concurrent `/v1/embeddings` calls to one target
 * within a short window become one upstream call with all their inputs, and the answer is split
 * back, each client's part with its own indices (from 0) and its own usage. Calls are combined
 * only when everything but `input` is the same (model, dimensions, encoding_format, user).
 *
 * A batch is sent when its window ends, or at once when it reaches `maxInputs` or `maxBytes`.
 * A failed batched call fails each member with the same error; a member whose client leaves
 * before the batch is sent is dropped from it, and one leaving after changes nothing for the
 * others (the batched call has a cancellation of its own). Timers run on the injected clock.
 */
import type { EmbeddingBatching } from '../config/batching.js';
import { SluiceError, toSluiceError } from '../errors.js';
import { Cancellation } from '../lib/cancel.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { JsonObject, ProviderAdapter, ProviderCall, ProviderResponse, Usage } from '../providers/types.js';

/** One client's call waiting in a batch. */
class Member {
  readonly call: ProviderCall;
  readonly inputs: readonly unknown[];
  /** Estimated tokens of the inputs: the weight of this member's share of the usage. */
  readonly weight: number;
  readonly joinedAt: number;
  readonly #resolve: (r: ProviderResponse) => void;
  readonly #reject: (err: unknown) => void;
  readonly #batch: Batch;
  #settled = false;

  constructor(batch: Batch, call: ProviderCall, inputs: readonly unknown[], weight: number, joinedAt: number, resolve: (r: ProviderResponse) => void, reject: (err: unknown) => void) {
    this.#batch = batch;
    this.call = call;
    this.inputs = inputs;
    this.weight = weight;
    this.joinedAt = joinedAt;
    this.#resolve = resolve;
    this.#reject = reject;
    call.signal.addEventListener('abort', this);
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The client left: before the batch is sent, the member leaves it; after, nothing changes for the others. */
  handleEvent(): void {
    if (this.#batch.sent) return;
    this.fail(this.call.signal.reason);
  }

  succeed(r: ProviderResponse): void {
    if (this.#settled) return;
    this.#settled = true;
    this.call.signal.removeEventListener('abort', this);
    this.#resolve(r);
  }

  fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.call.signal.removeEventListener('abort', this);
    this.#reject(err);
  }
}

class Batch {
  readonly key: string;
  readonly members: Member[] = [];
  inputs = 0;
  bytes = 0;
  timer: TimerHandle | null = null;
  sent = false;

  constructor(key: string) {
    this.key = key;
  }
}

export class EmbeddingBatcher {
  readonly #adapter: ProviderAdapter;
  readonly #policy: EmbeddingBatching;
  /** Most inputs per batch: the route's `maxInputs`, or the provider's own limit when lower. */
  readonly #maxInputs: number;
  readonly #clock: Clock;
  readonly #open = new Map<string, Batch>();
  /** Requests that went through a batch (for metrics: calls saved = requests − calls). */
  requests = 0;
  /** Upstream calls made for them. */
  calls = 0;
  /** Milliseconds requests waited for their batch to be sent, summed. */
  waitedMs = 0;

  constructor(adapter: ProviderAdapter, policy: EmbeddingBatching, clock: Clock) {
    this.#adapter = adapter;
    this.#policy = policy;
    this.#maxInputs = Math.min(policy.maxInputs, adapter.maxEmbeddingInputs ?? Infinity);
    this.#clock = clock;
  }

  /** An embeddings call: joins the open batch for its parameters, or goes alone when it cannot be combined. */
  send(call: ProviderCall): Promise<ProviderResponse> {
    const inputs = inputsOf(call.body.input);
    const policy = this.#policy;
    const maxInputs = this.#maxInputs;
    if (call.stream || inputs === null || inputs.length >= maxInputs) return this.#adapter.send(call);
    const bytes = bytesOf(inputs);
    if (bytes >= policy.maxBytes) return this.#adapter.send(call);
    const key = batchKey(call.body);
    let batch = this.#open.get(key);
    if (batch !== undefined && (batch.inputs + inputs.length > maxInputs || batch.bytes + bytes > policy.maxBytes)) {
      this.#flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      const b = new Batch(key);
      batch = b;
      this.#open.set(key, b);
      b.timer = this.#clock.setTimer(() => this.#flush(b), policy.windowMs);
    }
    const open = batch;
    const promise = new Promise<ProviderResponse>((resolve, reject) => {
      open.members.push(new Member(open, call, inputs, weightOf(inputs), this.#clock.monotonic(), resolve, reject));
    });
    open.inputs += inputs.length;
    open.bytes += bytes;
    if (call.signal.aborted) open.members[open.members.length - 1]!.fail(call.signal.reason);
    if (open.inputs >= maxInputs) this.#flush(open);
    return promise;
  }

  #flush(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.#open.get(batch.key) === batch) this.#open.delete(batch.key);
    if (batch.timer !== null) this.#clock.clearTimer(batch.timer);
    const members = batch.members.filter((m) => !m.settled);
    if (members.length === 0) return;
    const now = this.#clock.monotonic();
    this.requests += members.length;
    this.calls++;
    for (const m of members) this.waitedMs += now - m.joinedAt;
    void this.#run(members);
  }

  async #run(members: Member[]): Promise<void> {
    const first = members[0]!;
    if (members.length === 1) {
      // Alone after all: its own call, body text and cancellation unchanged.
      try {
        first.succeed(await this.#adapter.send(first.call));
      } catch (err) {
        first.fail(err);
      }
      return;
    }
    const input: unknown[] = [];
    for (const m of members) for (const i of m.inputs) input.push(i);
    let response: ProviderResponse;
    try {
      response = await this.#adapter.send({ ...first.call, body: { ...first.call.body, input }, bodyText: null, signal: new Cancellation() });
      const parts = splitAnswer(response, members, input.length);
      for (let i = 0; i < members.length; i++) members[i]!.succeed(parts[i]!);
    } catch (err) {
      const e = toSluiceError(err);
      for (const m of members) m.fail(e);
    }
  }
}

/** The inputs of an embeddings `input` to combine: strings, or token arrays; null when it cannot be combined. */
export function inputsOf(input: unknown): unknown[] | null {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  // A flat array of numbers is one tokenised input, not many.
  if (input.every((x) => typeof x === 'number')) return [input];
  return input.every((x) => typeof x === 'string' || (Array.isArray(x) && x.every((t) => typeof t === 'number'))) ? input : null;
}

/** Estimated tokens: about 4 characters per token for text; a token array is its length. */
function weightOf(inputs: readonly unknown[]): number {
  let w = 0;
  for (const i of inputs) w += typeof i === 'string' ? Math.max(1, Math.ceil(i.length / 4)) : (i as unknown[]).length;
  return w;
}

/** The inputs' size as JSON text, roughly (UTF-16 length of strings, 6 bytes per token id). */
function bytesOf(inputs: readonly unknown[]): number {
  let b = 0;
  for (const i of inputs) b += typeof i === 'string' ? i.length + 3 : (i as unknown[]).length * 6 + 2;
  return b;
}

/** Calls share a batch when everything but `input` is the same. */
function batchKey(body: JsonObject): string {
  return JSON.stringify({ ...body, input: undefined });
}

/**
 * Splits a combined answer back: each member's slice of `data` with indices from 0, and its
 * share of the prompt tokens, proportional to its estimated tokens (largest remainder, so the
 * shares add up to what the provider reported).
 */
function splitAnswer(response: ProviderResponse, members: readonly Member[], count: number): ProviderResponse[] {
  if (response.kind !== 'json') throw new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: 'The provider streamed an answer to an embeddings request.' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = null;
  }
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as JsonObject) : null;
  const data = list !== null && Array.isArray(list.data) ? (list.data as unknown[]) : null;
  if (list === null || data === null || data.length !== count) {
    throw new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: `The provider answered a batched embeddings request of ${count} inputs with ${data?.length ?? 'no'} embeddings.` });
  }
  // Items in input order, by their own index when each has a valid one.
  const ordered = new Array<JsonObject>(count);
  for (let i = 0; i < count; i++) {
    const item = data[i] as JsonObject;
    const at = typeof item.index === 'number' && Number.isInteger(item.index) && item.index >= 0 && item.index < count ? item.index : i;
    ordered[at] = item;
  }
  const wireUsage = typeof list.usage === 'object' && list.usage !== null ? (list.usage as JsonObject) : null;
  const total = response.usage?.promptTokens ?? (typeof wireUsage?.prompt_tokens === 'number' ? wireUsage.prompt_tokens : null);
  const shares = total === null ? null : proportionalShares(total, members.map((m) => m.weight));
  const out: ProviderResponse[] = [];
  let offset = 0;
  for (let k = 0; k < members.length; k++) {
    const n = members[k]!.inputs.length;
    const slice: JsonObject[] = [];
    for (let i = 0; i < n; i++) slice.push({ ...ordered[offset + i]!, index: i });
    offset += n;
    const share = shares === null ? null : shares[k]!;
    const body: JsonObject = { ...list, data: slice };
    if (wireUsage !== null && share !== null) body.usage = { ...wireUsage, prompt_tokens: share, total_tokens: share };
    const usage: Usage | null = share === null ? null : { promptTokens: share, cachedPromptTokens: 0, completionTokens: 0, totalTokens: share };
    out.push({ kind: 'json', status: response.status, body: JSON.stringify(body), usage });
  }
  return out;
}

/** `total` split in proportion to `weights`, in whole numbers that add up to `total` (largest remainder). */
export function proportionalShares(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    shares[i] = shares[i]! + 1;
    left--;
  }
  return shares;
}
