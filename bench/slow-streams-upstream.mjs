#!/usr/bin/env node
// The upstream of bench/slow-streams.mjs, as its own process: an OpenAI-shaped chat API on
// 127.0.0.1 (port 0; prints "upstream listening on URL"). Answers read whole come at once.
// Streams with max_tokens < 100000 are paced: one chunk per token at --tokens-per-second
// (one shared timer for all), then [DONE]. Streams with max_tokens >= 100000 flood: ~1 KiB
// chunks as fast as the socket takes them, without end, for clients that stop reading.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { setInterval } from 'node:timers';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: { 'tokens-per-second': { type: 'string', default: '1' } } });
const tickMs = 1000 / Number(opt['tokens-per-second']);
const FLOOD = `data: ${JSON.stringify({ id: 'f', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'y'.repeat(1000) }, finish_reason: null }] })}\n\n`;
const TOKEN = `data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] })}\n\n`;
const LAST = `data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })}\n\ndata: [DONE]\n\n`;
const JSON_ANSWER = JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

/** Paced streams: response → tokens still to send. */
const paced = new Map();
setInterval(() => {
  for (const [res, left] of paced) {
    if (left <= 1) {
      paced.delete(res);
      res.end(LAST);
    } else {
      paced.set(res, left - 1);
      res.write(TOKEN);
    }
  }
}, tickMs);

/** Flooded streams open now and cancelled so far (the client side of a cut cannot tell: a paused client never reads the close). */
const flood = { open: 0, closed: 0 };

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ pacedOpen: paced.size, floodOpen: flood.open, floodClosed: flood.closed }));
    return;
  }
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON_ANSWER);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.on('close', () => paced.delete(res));
    const tokens = Number(body.max_tokens ?? 16);
    if (tokens < 100_000) {
      res.write(TOKEN);
      paced.set(res, tokens);
      return;
    }
    let stopped = false;
    flood.open++;
    res.on('close', () => {
      stopped = true;
      flood.open--;
      flood.closed++;
    });
    const pump = () => {
      while (!stopped) {
        if (!res.write(FLOOD)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`upstream listening on http://127.0.0.1:${server.address().port}/v1\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
