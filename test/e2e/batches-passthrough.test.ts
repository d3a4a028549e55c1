import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { outputLines } from '../helpers/batches.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { AnthropicBatchProvider, OpenAIBatchProvider } from '../helpers/provider-batches.js';
import { metricValue, waitFor } from '../helpers/wait.js';

/**
 * Batch pass-through (issue 21), through the openai SDK: a batch whose model routes to an
 * `openai` provider goes to that provider's Files + Batch API, one to an `anthropic` provider
 * to its Message Batches API (lines translated there and back); the results land in Sluice's
 * own output and error files under the client's custom ids; usage records are priced at the
 * batch price; a cancel reaches the provider; a refusal runs the lines one by one.
 */

const KEY = 'sk-passthrough-0123456789abcdef';
const UP_KEY = 'sk-upstream-openai-0123456789';
const CLAUDE_KEY = 'sk-ant-upstream-0123456789';

function lines(count: number, model: string, id: (i: number) => string = (i) => `req-${i}`, fail: (i: number) => boolean = () => false): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(JSON.stringify({ custom_id: id(i), method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: fail(i) ? `FAIL-${i}` : `line-${i}` }], stream: true } }));
  }
  return `${out.join('\n')}\n`;
}

describe('batches passed through to the providers’ batch APIs', () => {
  let openai: OpenAIBatchProvider;
  let anthropic: AnthropicBatchProvider;
  let gw: TestGateway;
  let client: OpenAI;
  let dir: string;

  before(async () => {
    openai = await new OpenAIBatchProvider().start();
    anthropic = await new AnthropicBatchProvider().start();
    dir = mkdtempSync(join(tmpdir(), 'sluice-passthrough-'));
    gw = await startGateway({
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '20ms' },
      admin: { tokens: ['admin-token-0123456789abcdef'] },
      auth: { required: true },
      keys: [{ name: 'a', key: KEY }],
      providers: {
        up: { type: 'openai', baseUrl: `${openai.url}/v1`, apiKey: UP_KEY },
        claude: { type: 'anthropic', baseUrl: `${anthropic.url}/v1`, apiKey: CLAUDE_KEY },
      },
      routes: [
        { match: 'gpt-4o-mini', targets: [{ provider: 'up', model: 'gpt-4o-mini-2024-07-18' }] },
        { match: 'claude-haiku-4-5', targets: [{ provider: 'claude' }] },
      ],
      batches: { pollInterval: '20ms', leaseTtl: '5s', passthrough: true, passthroughPoll: '20ms' },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  after(async () => {
    await gw.close();
    await openai.stop();
    await anthropic.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ended(id: string): Promise<OpenAI.Batch> {
    let batch = await client.batches.retrieve(id);
    await waitFor(async () => {
      batch = await client.batches.retrieve(id);
      return batch.status === 'completed' || batch.status === 'failed' || batch.status === 'cancelled' || batch.status === 'expired';
    }, `batch ${id} to end`);
    return batch;
  }

  async function create(jsonl: string): Promise<OpenAI.Batch> {
    const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), 'input.jsonl'), purpose: 'batch' });
    return client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  }

  async function usageOf(batchId: string, count: number): Promise<{ status: number; cost_usd: number; provider: string; model: string; target_model: string }[]> {
    const db = gw.gateway.database!;
    const read = (): Promise<{ status: number; cost_usd: number; provider: string; model: string; target_model: string }[]> =>
      db.query('SELECT status, cost_usd, provider, model, target_model FROM usage_records WHERE batch_id = $1', [batchId]);
    await waitFor(async () => (await read()).length === count, `${count} usage records of ${batchId}`);
    return read();
  }

  test('OpenAI: one provider batch with the upstream model; results under the same custom ids; usage at the batch price', async () => {
    const createdBefore = openai.created;
    const batch = await create(lines(6, 'gpt-4o-mini', undefined, (i) => i === 3));
    assert.equal(batch.status, 'in_progress');
    await waitFor(() => openai.created === createdBefore + 1, 'the provider batch');
    const up = openai.only();
    assert.deepEqual(up.batch.metadata, { sluice_batch_id: batch.id });
    assert.equal(up.batch.endpoint, '/v1/chat/completions');
    assert.deepEqual(
      up.lines.map((l) => l.custom_id),
      Array.from({ length: 6 }, (_, i) => `req-${i}`),
    );
    for (const l of up.lines) {
      const body = l.body as { model: string; stream?: unknown };
      assert.equal(body.model, 'gpt-4o-mini-2024-07-18', 'the target model goes upstream');
      assert.equal(body.stream, undefined, 'stream is taken out');
    }
    assert.deepEqual([...openai.auth], [`Bearer ${UP_KEY}`]);
    // Still at the provider: nothing recorded yet, and polls go on.
    const polled = openai.polls;
    await waitFor(() => openai.polls >= polled + 2, 'polls while the provider works');
    assert.equal((await client.batches.retrieve(batch.id)).status, 'in_progress');

    openai.finish(String(up.batch.id));
    const done = await ended(batch.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 6, completed: 5, failed: 1 });
    const output = outputLines(await (await client.files.content(done.output_file_id!)).text());
    const errors = outputLines(await (await client.files.content(done.error_file_id!)).text());
    assert.deepEqual(
      output.map((l) => l.custom_id),
      ['req-0', 'req-1', 'req-2', 'req-4', 'req-5'],
    );
    for (const l of output) {
      assert.equal(l.response?.status_code, 200);
      assert.equal((l.response!.body.choices as { message: { content: string } }[])[0]!.message.content, `echo: line-${l.custom_id.slice(4)}`);
    }
    assert.deepEqual(
      errors.map((l) => [l.custom_id, l.response?.status_code]),
      [['req-3', 400]],
    );
    assert.equal(openai.direct, 0, 'no line went to the interactive API');
    assert.equal(openai.created, createdBefore + 1);

    // gpt-4o-mini lists at $0.15 / $0.60 per million: 10 prompt and 5 completion tokens are $4.5e-6, half of it in a batch.
    const usage = await usageOf(batch.id, 6);
    for (const u of usage) {
      assert.equal(u.provider, 'up');
      assert.equal(u.model, 'gpt-4o-mini');
      assert.equal(u.target_model, 'gpt-4o-mini-2024-07-18');
      if (Number(u.status) === 200) assert.ok(Math.abs(Number(u.cost_usd) - 2.25e-6) < 1e-12, `cost ${u.cost_usd}`);
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'sluice_batch_passthrough_events_total', 'provider="up",event="submitted"'), 1);
    assert.equal(metricValue(metrics, 'sluice_batch_passthrough_events_total', 'provider="up",event="ended"'), 1);
    openai.batches.clear();
  });

  test('Anthropic: lines translated to a Message Batch, results back as chat completions, custom ids kept', async () => {
    // Custom ids Anthropic refuses (a dot): the provider gets ids of Sluice's own, mapped back.
    // A fifth line asks for n: 2, which Anthropic cannot honour: answered at once with the 400 a client gets, never sent.
    const untranslatable = JSON.stringify({ custom_id: 'job.4', method: 'POST', url: '/v1/chat/completions', body: { model: 'claude-haiku-4-5', n: 2, messages: [{ role: 'user', content: 'line-4' }] } });
    const batch = await create(`${lines(4, 'claude-haiku-4-5', (i) => `job.${i}`, (i) => i === 2)}${untranslatable}\n`);
    await waitFor(() => anthropic.created === 1, 'the message batch');
    const up = anthropic.only();
    assert.deepEqual(
      up.requests.map((r) => r.custom_id),
      ['line-1', 'line-2', 'line-3', 'line-4'],
    );
    for (const r of up.requests) {
      assert.equal(r.params.model, 'claude-haiku-4-5');
      assert.equal(r.params.max_tokens, 4096, "the provider's default max_tokens");
      assert.equal(r.params.stream, undefined);
    }
    assert.deepEqual([...anthropic.headersSeen], [`${CLAUDE_KEY} 2023-06-01`]);
    anthropic.finish(String(up.batch.id));
    const done = await ended(batch.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 5, completed: 3, failed: 2 });
    const output = outputLines(await (await client.files.content(done.output_file_id!)).text());
    assert.deepEqual(
      output.map((l) => l.custom_id),
      ['job.0', 'job.1', 'job.3'],
    );
    for (const l of output) {
      const body = l.response!.body as { object: string; choices: { message: { content: string }; finish_reason: string }[]; usage: { prompt_tokens: number } };
      assert.equal(body.object, 'chat.completion');
      assert.equal(body.choices[0]!.message.content, `echo: line-${l.custom_id.slice(4)}`);
      assert.equal(body.choices[0]!.finish_reason, 'stop');
      assert.equal(body.usage.prompt_tokens, 10);
    }
    const errors = outputLines(await (await client.files.content(done.error_file_id!)).text());
    assert.deepEqual(
      errors.map((l) => [l.custom_id, l.response?.status_code]),
      [
        ['job.2', 400],
        ['job.4', 400],
      ],
    );
    assert.equal((errors[1]!.response!.body.error as { param: string }).param, 'n');
    // claude-haiku-4-5 lists at $1 / $5 per million: (10 × 1 + 5 × 5) / 1e6 = $3.5e-5, half in a batch.
    const usage = await usageOf(batch.id, 4);
    for (const u of usage) if (Number(u.status) === 200) assert.ok(Math.abs(Number(u.cost_usd) - 1.75e-5) < 1e-12, `cost ${u.cost_usd}`);
    anthropic.batches.clear();
  });

  test('cancel reaches the provider; the batch ends cancelled with what ran', async () => {
    const batch = await create(lines(5, 'gpt-4o-mini'));
    await waitFor(() => openai.batches.size === 1, 'the provider batch');
    const up = openai.only();
    const cancelling = await client.batches.cancel(batch.id);
    assert.equal(cancelling.status, 'cancelling');
    await waitFor(() => up.batch.status === 'cancelling', 'the cancel at the provider');
    openai.finish(String(up.batch.id), 2);
    const done = await ended(batch.id);
    assert.equal(done.status, 'cancelled');
    assert.deepEqual(done.request_counts, { total: 5, completed: 2, failed: 0 });
    const output = outputLines(await (await client.files.content(done.output_file_id!)).text());
    assert.deepEqual(
      output.map((l) => l.custom_id),
      ['req-0', 'req-1'],
    );
    assert.equal(done.error_file_id, null);
    openai.batches.clear();
  });

  test('a provider that refuses the batch: its lines run one by one, and the batch says why', async () => {
    openai.refuseWith = 400;
    try {
      const direct = openai.direct;
      const batch = await create(lines(3, 'gpt-4o-mini'));
      const done = await ended(batch.id);
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.request_counts, { total: 3, completed: 3, failed: 0 });
      assert.equal(openai.direct - direct, 3, 'each line through the interactive API');
      assert.equal(done.errors?.data?.[0]?.code, 'SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED');
      assert.match(String(done.errors?.data?.[0]?.message), /does not support the Batch API/);
    } finally {
      openai.refuseWith = null;
    }
  });

  test('a batch of several models runs line by line (a provider batch takes one model)', async () => {
    const direct = openai.direct;
    const created = openai.created;
    const mixed = `${lines(1, 'gpt-4o-mini').trim()}\n${lines(2, 'gpt-4o-mini', (i) => `other-${i}`).trim().split('\n')[1]!.replace('gpt-4o-mini', 'claude-haiku-4-5')}\n`;
    const batch = await create(mixed);
    const done = await ended(batch.id);
    assert.equal(done.status, 'completed');
    assert.equal(openai.created, created, 'no provider batch');
    assert.equal(openai.direct - direct, 1);
  });
});
