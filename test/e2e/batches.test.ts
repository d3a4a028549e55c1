import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { CountingUpstream, chatLines, outputLines } from '../helpers/batches.js';
import { sendJson } from '../helpers/requests.js';
import { metricValue, waitFor } from '../helpers/wait.js';

/**
 * The Files API and the Batch API through the openai SDK (issue 21): upload a JSONL of 200
 * requests, run it as a batch against an upstream that counts what it is sent, read the
 * output and error files; tenancy between two keys; a bad input file; cancel; a budget.
 */

const KEY_A = 'sk-batch-a-0123456789abcdef';
const KEY_B = 'sk-batch-b-0123456789abcdef';
const KEY_POOR = 'sk-batch-poor-0123456789abcdef';

describe('batches through the openai SDK', () => {
  let upstream: CountingUpstream;
  let gw: TestGateway;
  let a: OpenAI;
  let b: OpenAI;
  let dir: string;

  before(async () => {
    upstream = await new CountingUpstream().start();
    dir = mkdtempSync(join(tmpdir(), 'sluice-batches-'));
    gw = await startGateway({
      database: { embedded: 'memory' },
      // Usage records of batch lines carry the batch id.
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '20ms' },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      auth: { required: true },
      tiers: { poor: { budget: { daily: 0.1 } } },
      keys: [
        { name: 'a', key: KEY_A },
        { name: 'b', key: KEY_B },
        { name: 'poor', key: KEY_POOR, tier: 'poor' },
      ],
      providers: { up: { type: 'openai', baseUrl: `${upstream.url}/v1` } },
      routes: [
        { match: 'gpt-test', targets: [{ provider: 'up', model: 'gpt-test' }] },
        // Priced so that each answer costs $0.008: a $0.1 budget is spent after about a dozen.
        // One request at a time: batch lines and interactive requests meet in its admission queue.
        { match: 'gpt-narrow', targets: [{ provider: 'up', model: 'gpt-narrow', maxConcurrent: 1 }] },
        { match: 'gpt-priced', targets: [{ provider: 'up', model: 'gpt-priced', price: { input: 1000, output: 1000 } }] },
      ],
      // Polls are a fallback only: a created batch and every finished line start the next step.
      batches: { concurrency: 4, pollInterval: '20ms', leaseTtl: '5s' },
    });
    a = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
    b = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function finished(client: OpenAI, id: string): Promise<OpenAI.Batch> {
    let batch = await client.batches.retrieve(id);
    await waitFor(async () => {
      batch = await client.batches.retrieve(id);
      return batch.status === 'completed' || batch.status === 'failed' || batch.status === 'cancelled' || batch.status === 'expired';
    }, `batch ${id} to end`);
    return batch;
  }

  test('200 lines: the output and error files hold one result per custom_id, and the upstream saw each request once', async () => {
    const before = upstream.total;
    // Every 20th line names a model no route serves: it fails on its own, as a 404 in the error file.
    const jsonl = chatLines(200, (i) => (i % 20 === 7 ? 'no-such-model' : 'gpt-test'));
    const file = await a.files.create({ file: await toFile(Buffer.from(jsonl), 'input.jsonl'), purpose: 'batch' });
    assert.equal(file.object, 'file');
    assert.equal(file.purpose, 'batch');
    assert.equal(file.bytes, Buffer.byteLength(jsonl));
    assert.equal(file.filename, 'input.jsonl');
    assert.equal(await (await a.files.content(file.id)).text(), jsonl);

    const created = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
    assert.equal(created.status, 'in_progress');
    assert.equal(created.request_counts?.total, 200);
    assert.deepEqual(created.metadata, { job: 'nightly' });

    const done = await finished(a, created.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 200, completed: 190, failed: 10 });
    assert.ok(done.completed_at !== null && done.completed_at !== undefined && done.completed_at >= done.created_at);

    const output = outputLines(await (await a.files.content(done.output_file_id!)).text());
    const errors = outputLines(await (await a.files.content(done.error_file_id!)).text());
    assert.equal(output.length, 190);
    assert.equal(errors.length, 10);
    const ids = [...output, ...errors].map((l) => l.custom_id).sort();
    assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `req-${i}`).sort());
    for (const line of output) {
      assert.equal(line.response?.status_code, 200);
      assert.equal(line.error, null);
      const choices = line.response!.body.choices as { message: { content: string } }[];
      assert.equal(choices[0]!.message.content, `echo: line-${line.custom_id.slice(4)}`);
      assert.match(line.response!.request_id, /^batch_req_/);
    }
    for (const line of errors) {
      assert.equal(line.response?.status_code, 404);
      assert.equal((line.response!.body.error as { code: string }).code, 'SLUICE_ERR_MODEL_NOT_FOUND');
      assert.equal(Number(line.custom_id.slice(4)) % 20, 7);
    }
    assert.equal(upstream.total - before, 190, 'each answered line reached the upstream once');
    assert.deepEqual(upstream.twice(), []);

    const outFile = await a.files.retrieve(done.output_file_id!);
    assert.equal(outFile.purpose, 'batch_output');

    // Every routed line has its usage record, marked with the batch (one no route serves has none, as for any request).
    const db = gw.gateway.database!;
    const marked = async (): Promise<number> => Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM usage_records WHERE batch_id = $1', [created.id]))[0]!.n);
    await waitFor(async () => (await marked()) === 190, 'the 190 usage records of the batch');
  });

  test('another key cannot read the file, its content or the batch; the owner lists and deletes', async () => {
    const file = await a.files.create({ file: await toFile(Buffer.from(chatLines(2)), 'mine.jsonl'), purpose: 'batch' });
    const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await assert.rejects(b.files.retrieve(file.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.files.content(file.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.files.delete(file.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.batches.retrieve(batch.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.batches.cancel(batch.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    // Nor use it as its own input.
    await assert.rejects(b.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (e: unknown) => e instanceof OpenAI.NotFoundError);
    const theirs = [];
    for await (const f of b.files.list()) theirs.push(f.id);
    assert.ok(!theirs.includes(file.id));
    const theirBatches = [];
    for await (const x of b.batches.list()) theirBatches.push(x.id);
    assert.deepEqual(theirBatches, []);

    const mine = [];
    for await (const f of a.files.list({ purpose: 'batch' })) mine.push(f.id);
    assert.ok(mine.includes(file.id));
    const myBatches = [];
    for await (const x of a.batches.list({ limit: 1 })) myBatches.push(x.id);
    assert.ok(myBatches.includes(batch.id), 'paged one at a time with after');
    assert.equal(new Set(myBatches).size, myBatches.length);
    await finished(a, batch.id);
    const deleted = await a.files.delete(file.id);
    assert.equal(deleted.deleted, true);
    await assert.rejects(a.files.retrieve(file.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  test('an input file with bad lines makes a failed batch with errors per line; nothing of it runs', async () => {
    const before = upstream.total;
    const good = chatLines(3).trim().split('\n');
    const jsonl = [good[0], '{not json', JSON.stringify({ custom_id: 'req-0', method: 'POST', url: '/v1/chat/completions', body: {} }), JSON.stringify({ custom_id: 'x', method: 'GET', url: '/v1/chat/completions', body: {} }), JSON.stringify({ custom_id: 'y', method: 'POST', url: '/v1/embeddings', body: {} }), good[2]].join('\n');
    const file = await a.files.create({ file: await toFile(Buffer.from(jsonl), 'bad.jsonl'), purpose: 'batch' });
    const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.equal(batch.status, 'failed');
    const data = batch.errors?.data ?? [];
    assert.deepEqual(
      data.map((e) => [e.line, e.param, e.code]),
      [
        [2, null, 'SLUICE_ERR_BATCH_INPUT_INVALID'],
        [3, 'custom_id', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
        [4, 'method', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
        [5, 'url', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      ],
    );
    assert.equal((await a.batches.retrieve(batch.id)).status, 'failed');
    assert.equal(upstream.total, before);
  });

  test('uploads and creations the gateway refuses get coded errors', async () => {
    const auth = { authorization: `Bearer ${KEY_A}` };
    const wrongPurpose = await sendJson(gw.url, '/v1/files', { body: MULTIPART('batch_output'), headers: { ...auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
    assert.equal(wrongPurpose.status, 400);
    assert.equal(wrongPurpose.json.error?.code, 'SLUICE_ERR_FILE_PURPOSE');
    const notMultipart = await sendJson(gw.url, '/v1/files', { body: {}, headers: auth });
    assert.equal(notMultipart.status, 400);
    assert.equal(notMultipart.json.error?.code, 'SLUICE_ERR_FILE_UPLOAD_INVALID');
    const broken = await sendJson(gw.url, '/v1/files', { body: 'garbage', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
    assert.equal(broken.json.error?.code, 'SLUICE_ERR_FILE_UPLOAD_INVALID');
    const anonymous = await sendJson(gw.url, '/v1/files');
    assert.equal(anonymous.status, 401);
    await assert.rejects(a.files.retrieve('file-nope'), (e: unknown) => e instanceof OpenAI.NotFoundError && (e.error as { code?: string }).code === 'SLUICE_ERR_FILE_NOT_FOUND');
    const notBatch = await a.files.create({ file: await toFile(Buffer.from('hello'), 'notes.txt'), purpose: 'user_data' });
    await assert.rejects(a.batches.create({ input_file_id: notBatch.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), (e: unknown) => e instanceof OpenAI.BadRequestError && (e.error as { code?: string }).code === 'SLUICE_ERR_FILE_PURPOSE');
    const file = await a.files.create({ file: await toFile(Buffer.from(chatLines(1)), 'one.jsonl'), purpose: 'batch' });
    await assert.rejects(a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '1h' as '24h' }), (e: unknown) => e instanceof OpenAI.BadRequestError && (e.error as { param?: string }).param === 'completion_window');
  });

  test('cancel: lines running finish and are kept, no further line runs, the batch ends cancelled', async () => {
    upstream.hold = true;
    const before = upstream.total;
    try {
      const file = await a.files.create({ file: await toFile(Buffer.from(chatLines(40)), 'cancel.jsonl'), purpose: 'batch' });
      const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await waitFor(() => upstream.total - before === 4, 'four lines (the concurrency) at the upstream');
      const cancelling = await a.batches.cancel(batch.id);
      assert.equal(cancelling.status, 'cancelling');
      upstream.release();
      const done = await finished(a, batch.id);
      assert.equal(done.status, 'cancelled');
      assert.equal(done.request_counts?.completed, 4);
      assert.equal(upstream.total - before, 4, 'no line ran after the cancel');
      assert.equal(outputLines(await (await a.files.content(done.output_file_id!)).text()).length, 4);
      await assert.rejects(a.batches.cancel((await finishedBatch()).id), (e: unknown) => e instanceof OpenAI.APIError && e.status === 409);
    } finally {
      upstream.release();
    }
  });

  test('interactive requests go ahead of batch lines in a target’s admission queue', async () => {
    upstream.hold = true;
    try {
      const file = await a.files.create({ file: await toFile(Buffer.from(chatLines(12, () => 'gpt-narrow')), 'narrow.jsonl'), purpose: 'batch' });
      const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const depth = async (): Promise<number> => {
        const text = await (await fetch(`${gw.url}/metrics`)).text();
        return metricValue(text, 'sluice_queue_depth', 'route="gpt-narrow",target="up/gpt-narrow"') ?? 0;
      };
      // One line at the upstream, the other three of the runner's four waiting in the queue.
      await waitFor(async () => upstream.held === 1 && (await depth()) === 3, 'one batch line in flight and three queued');
      const interactive = a.chat.completions.create({ model: 'gpt-narrow', messages: [{ role: 'user', content: 'interactive' }] });
      await waitFor(async () => (await depth()) === 4, 'the interactive request queued behind them');
      upstream.releaseOne();
      // Measured in upstream turns: the interactive request waited for the one line in flight only.
      await waitFor(() => upstream.held === 1, 'the next request at the upstream');
      assert.deepEqual(upstream.heldTexts, ['interactive'], 'the interactive request went first, ahead of three batch lines that had waited longer');
      upstream.releaseOne();
      assert.equal((await interactive).choices[0]!.message.content, 'echo: interactive');
      upstream.release();
      assert.equal((await finished(a, batch.id)).request_counts?.completed, 12);
    } finally {
      upstream.release();
    }
  });

  async function finishedBatch(): Promise<OpenAI.Batch> {
    const file = await a.files.create({ file: await toFile(Buffer.from(chatLines(1)), 'one.jsonl'), purpose: 'batch' });
    const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    return finished(a, batch.id);
  }

  test('a batch under a key budget stops at the budget: the rest of its lines fail with SLUICE_ERR_BUDGET_EXCEEDED', async () => {
    const poor = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_POOR, maxRetries: 0 });
    const before = upstream.total;
    const file = await poor.files.create({ file: await toFile(Buffer.from(chatLines(40, () => 'gpt-priced')), 'priced.jsonl'), purpose: 'batch' });
    const batch = await poor.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await finished(poor, batch.id);
    assert.equal(done.status, 'completed');
    const spent = upstream.total - before;
    assert.equal(done.request_counts?.completed, spent);
    // $0.1 buys 12 answers; admission reserves for the lines in flight (up to the concurrency, 4), so it may stop a few earlier or settle a few later.
    assert.ok(spent >= 12 - 4 && spent <= 12 + 4, `${spent} lines answered under a budget of about 12`);
    const errors = outputLines(await (await poor.files.content(done.error_file_id!)).text());
    assert.equal(errors.length, 40 - spent);
    for (const e of errors) {
      assert.equal(e.response?.status_code, 429);
      assert.equal((e.response!.body.error as { code: string }).code, 'SLUICE_ERR_BUDGET_EXCEEDED');
    }
  });
});

const BOUNDARY = 'sluice-test-boundary';

/** A multipart/form-data body with a file part and a purpose field, written by hand to send what the SDK would not. */
function MULTIPART(purpose: string): string {
  return [`--${BOUNDARY}`, 'Content-Disposition: form-data; name="purpose"', '', purpose, `--${BOUNDARY}`, 'Content-Disposition: form-data; name="file"; filename="x.jsonl"', 'Content-Type: application/octet-stream', '', 'xxxx', `--${BOUNDARY}--`, ''].join('\r\n');
}
