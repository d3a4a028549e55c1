/**
 * Providers' own batch APIs for batch pass-through tests (issue 21), as real HTTP servers on
 * port 0: a minimal, faithful subset of OpenAI's Files + Batch API (`POST /v1/files`
 * multipart, `GET /v1/files/{id}/content`, `POST/GET /v1/batches`, `GET /v1/batches/{id}`,
 * `POST /v1/batches/{id}/cancel`) and of Anthropic's Message Batches API
 * (`POST/GET /v1/messages/batches`, `GET /v1/messages/batches/{id}`, `…/cancel`,
 * `…/results`). Shapes follow the providers' OpenAPI specs (OpenAI's `Batch`, `OpenAIFile`
 * and batch output lines; Anthropic's `MessageBatch`, `RequestCounts` and
 * `MessageBatchIndividualResponse`). A batch stays in progress until the test calls
 * `finish()`: no timing decides anything.
 *
 * Answers: a chat line is answered "echo: <last message>" with usage 10 prompt / 5 completion
 * tokens; a line whose last message contains FAIL is answered 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backend } from './backends.js';

type Json = Record<string, unknown>;

function lastText(body: Json): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  const c = messages.at(-1)?.content;
  return typeof c === 'string' ? c : JSON.stringify(c ?? '');
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

interface OpenAIBatchRecord {
  batch: Json;
  lines: Json[];
}

/** OpenAI's Files + Batch API. */
export class OpenAIBatchProvider extends Backend {
  readonly files = new Map<string, { object: Json; content: string }>();
  readonly batches = new Map<string, OpenAIBatchRecord>();
  /** Batches created (POST /v1/batches answered 200). */
  created = 0;
  /** Polls (GET /v1/batches/{id}). */
  polls = 0;
  /** Chat completions answered one by one (not in a batch). */
  direct = 0;
  /** Hold back the answers to polls (GET /v1/batches/{id}): a gateway is then caught mid-poll. */
  holdPolls = false;
  /** Create batches but hold back the answer (a gateway dies before it learns the batch's id). */
  holdCreate = false;
  /** Answers held back. */
  readonly held: ServerResponse[] = [];
  /** Answer POST /v1/batches with this status and error instead (a refusal). */
  refuseWith: number | null = null;
  /** The Authorization headers seen. */
  readonly auth = new Set<string>();
  #n = 0;

  constructor() {
    super('openai-batches', (req, res, body) => void this.#route(req, res, body));
  }

  async #route(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    this.auth.add(String(req.headers.authorization));
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      // The interactive API, for lines run one by one (pass-through refused).
      this.direct++;
      const params = JSON.parse(body) as Json;
      const answer = { id: `chatcmpl-d${this.direct}`, object: 'chat.completion', created: 1_700_000_000, model: params.model, choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${lastText(params)}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } };
      return send(res, 200, answer);
    }
    if (req.method === 'POST' && path === '/v1/files') {
      const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      const file = form.get('file');
      if (form.get('purpose') !== 'batch' || !(file instanceof Blob)) return send(res, 400, { error: { message: 'purpose and file are required', type: 'invalid_request_error', code: null, param: null } });
      const content = await file.text();
      const id = `file-up-${++this.#n}`;
      const object = { id, object: 'file', bytes: Buffer.byteLength(content), created_at: 1_700_000_000, filename: (file as File).name, purpose: 'batch', status: 'processed' };
      this.files.set(id, { object, content });
      return send(res, 200, object);
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (req.method === 'GET' && content !== null) {
      const f = this.files.get(content[1]!);
      return f === undefined ? send(res, 404, { error: { message: 'No such file', type: 'invalid_request_error', code: null, param: null } }) : send(res, 200, f.content, 'application/octet-stream');
    }
    if (req.method === 'POST' && path === '/v1/batches') {
      if (this.refuseWith !== null) return send(res, this.refuseWith, { error: { message: 'The model does not support the Batch API.', type: 'invalid_request_error', code: 'model_not_supported', param: null } });
      const params = JSON.parse(body) as Json;
      const input = this.files.get(String(params.input_file_id));
      if (input === undefined) return send(res, 400, { error: { message: 'No such input file', type: 'invalid_request_error', code: null, param: 'input_file_id' } });
      const lines = input.content.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json);
      const id = `batch_up_${++this.#n}`;
      const batch: Json = {
        id,
        object: 'batch',
        endpoint: params.endpoint,
        errors: null,
        input_file_id: params.input_file_id,
        completion_window: params.completion_window,
        status: 'in_progress',
        output_file_id: null,
        error_file_id: null,
        created_at: 1_700_000_000,
        in_progress_at: 1_700_000_001,
        expires_at: 1_700_086_400,
        request_counts: { total: lines.length, completed: 0, failed: 0 },
        metadata: params.metadata ?? null,
      };
      this.batches.set(id, { batch, lines });
      this.created++;
      if (this.holdCreate) return void this.held.push(res);
      return send(res, 200, batch);
    }
    if (req.method === 'GET' && path === '/v1/batches') {
      const data = [...this.batches.values()].map((b) => b.batch).reverse();
      return send(res, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    }
    const one = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    const rec = one === null ? undefined : this.batches.get(one[1]!);
    if (one !== null && rec === undefined) return send(res, 404, { error: { message: 'No such batch', type: 'invalid_request_error', code: null, param: null } });
    if (req.method === 'GET' && rec !== undefined && one![2] === undefined) {
      this.polls++;
      if (this.holdPolls) return void this.held.push(res);
      return send(res, 200, rec.batch);
    }
    if (req.method === 'POST' && rec !== undefined && one![2] === '/cancel') {
      if (rec.batch.status === 'in_progress') rec.batch.status = 'cancelling';
      return send(res, 200, rec.batch);
    }
    send(res, 404, { error: { message: `No route ${req.method} ${path}`, type: 'invalid_request_error', code: null, param: null } });
  }

  /** Ends the answers held back (their gateway is gone) and stops holding. */
  release(): void {
    this.holdPolls = false;
    this.holdCreate = false;
    for (const res of this.held.splice(0)) res.destroy();
  }

  /** The only batch created (the tests create one at a time). */
  only(): OpenAIBatchRecord {
    const all = [...this.batches.values()];
    if (all.length !== 1) throw new Error(`${all.length} provider batches`);
    return all[0]!;
  }

  /**
   * Ends a batch as OpenAI does: every line answered (completed), or, for a batch cancelling,
   * the first `ran` lines answered and the others cancelled.
   */
  finish(id: string, ran = Infinity): void {
    const rec = this.batches.get(id)!;
    const cancelling = rec.batch.status === 'cancelling';
    const out: string[] = [];
    const err: string[] = [];
    rec.lines.forEach((l, i) => {
      const body = l.body as Json;
      if (cancelling && i >= ran) {
        err.push(JSON.stringify({ id: `batch_req_c${i}`, custom_id: l.custom_id, response: null, error: { code: 'batch_cancelled', message: 'This request was cancelled.' } }));
        return;
      }
      const text = lastText(body);
      if (text.includes('FAIL')) {
        err.push(JSON.stringify({ id: `batch_req_${i}`, custom_id: l.custom_id, response: { status_code: 400, request_id: `req_${i}`, body: { error: { message: 'Bad line', type: 'invalid_request_error', code: null, param: null } } }, error: null }));
        return;
      }
      const answer = {
        id: `chatcmpl-b${i}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${text}`, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      };
      out.push(JSON.stringify({ id: `batch_req_${i}`, custom_id: l.custom_id, response: { status_code: 200, request_id: `req_${i}`, body: answer }, error: null }));
    });
    const file = (lines: string[]): string | null => {
      if (lines.length === 0) return null;
      const fid = `file-out-${++this.#n}`;
      this.files.set(fid, { object: { id: fid, object: 'file', purpose: 'batch_output' }, content: `${lines.join('\n')}\n` });
      return fid;
    };
    rec.batch.output_file_id = file(out);
    rec.batch.error_file_id = file(err);
    rec.batch.status = cancelling ? 'cancelled' : 'completed';
    rec.batch.request_counts = { total: rec.lines.length, completed: out.length, failed: err.length };
  }
}

interface AnthropicBatchRecord {
  batch: Json;
  requests: { custom_id: string; params: Json }[];
  results: string;
}

/** Anthropic's Message Batches API. */
export class AnthropicBatchProvider extends Backend {
  readonly batches = new Map<string, AnthropicBatchRecord>();
  created = 0;
  polls = 0;
  /** The x-api-key and anthropic-version headers seen, joined by a space. */
  readonly headersSeen = new Set<string>();
  #n = 0;

  constructor() {
    super('anthropic-batches', (req, res, body) => this.#route(req, res, body));
  }

  #route(req: IncomingMessage, res: ServerResponse, body: string): void {
    this.headersSeen.add(`${String(req.headers['x-api-key'])} ${String(req.headers['anthropic-version'])}`);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const notFound = (): void => send(res, 404, { type: 'error', error: { type: 'not_found_error', message: `No route ${req.method} ${path}` } });
    if (req.method === 'POST' && path === '/v1/messages/batches') {
      const params = JSON.parse(body) as { requests?: { custom_id: string; params: Json }[] };
      const requests = params.requests ?? [];
      if (requests.length === 0 || requests.some((r) => !/^[a-zA-Z0-9_-]{1,64}$/.test(r.custom_id) || typeof r.params?.max_tokens !== 'number')) {
        return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'requests: invalid custom_id or params' } });
      }
      const id = `msgbatch_${++this.#n}`;
      const batch: Json = {
        id,
        type: 'message_batch',
        processing_status: 'in_progress',
        request_counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
        ended_at: null,
        created_at: new Date().toISOString(),
        expires_at: new Date(Date.now() + 86_400_000).toISOString(),
        archived_at: null,
        cancel_initiated_at: null,
        results_url: null,
      };
      this.batches.set(id, { batch, requests, results: '' });
      this.created++;
      return send(res, 200, batch);
    }
    if (req.method === 'GET' && path === '/v1/messages/batches') {
      const data = [...this.batches.values()].map((b) => b.batch).reverse();
      return send(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
    }
    const one = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(path);
    const rec = one === null ? undefined : this.batches.get(one[1]!);
    if (rec === undefined) return notFound();
    if (req.method === 'GET' && one![2] === undefined) {
      this.polls++;
      return send(res, 200, rec.batch);
    }
    if (req.method === 'POST' && one![2] === '/cancel') {
      if (rec.batch.processing_status === 'in_progress') {
        rec.batch.processing_status = 'canceling';
        rec.batch.cancel_initiated_at = new Date().toISOString();
      }
      return send(res, 200, rec.batch);
    }
    if (req.method === 'GET' && one![2] === '/results') {
      if (rec.batch.processing_status !== 'ended') return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'The batch has not ended.' } });
      return send(res, 200, rec.results, 'application/binary');
    }
    notFound();
  }

  only(): AnthropicBatchRecord {
    const all = [...this.batches.values()];
    if (all.length !== 1) throw new Error(`${all.length} provider batches`);
    return all[0]!;
  }

  /** Ends a batch: every request answered, or (cancelling) the first `ran` answered and the rest canceled. */
  finish(id: string, ran = Infinity): void {
    const rec = this.batches.get(id)!;
    const cancelling = rec.batch.processing_status === 'canceling';
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    const lines = rec.requests.map((r, i) => {
      if (cancelling && i >= ran) {
        counts.canceled++;
        return { custom_id: r.custom_id, result: { type: 'canceled' } };
      }
      const text = lastText(r.params);
      if (text.includes('FAIL')) {
        counts.errored++;
        return { custom_id: r.custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'Bad line' } } } };
      }
      counts.succeeded++;
      const message = {
        id: `msg_b${i}`,
        type: 'message',
        role: 'assistant',
        model: r.params.model,
        content: [{ type: 'text', text: `echo: ${text}` }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5 },
      };
      return { custom_id: r.custom_id, result: { type: 'succeeded', message } };
    });
    // Results may come in any order (the spec says so): reversed here.
    rec.results = `${lines.reverse().map((l) => JSON.stringify(l)).join('\n')}\n`;
    rec.batch.processing_status = 'ended';
    rec.batch.ended_at = new Date().toISOString();
    rec.batch.request_counts = counts;
    rec.batch.results_url = `${this.url}/v1/messages/batches/${id}/results`;
  }
}
