#!/usr/bin/env node
// Node's own floor for bench/compare (issue 19): what a proxy written in a few lines of
// node:http costs on this machine, so Sluice's CPU per request can be read against it.
//
//   node bench/bare.mjs forward <origin>   forwards every request to <origin> with an undici
//                                          Pool: method, path, headers and the body read
//                                          whole, the answer's status, headers and whole body
//                                          back
//   node bench/bare.mjs answer <file>      answers every request with the bytes of <file>
//                                          (JSON), after reading the request body
//   node bench/bare.mjs forward-json <origin>
//   node bench/bare.mjs answer-json <file>  the same with the least a JSON API gateway must do
//                                          beside: the body read as text and parsed (as
//                                          Sluice parses it, secure-json-parse), a request id
//                                          (the client's or a new UUID) sent upstream and
//                                          back, the answer read as text, its length counted
//                                          and written with its content type. No routing,
//                                          policies, metrics or validation: what is left
//                                          between these and Sluice is Sluice's own work.
//
// Prints `bare listening on http://127.0.0.1:<port>` and serves until SIGTERM. Loopback only.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import sjson from 'secure-json-parse';
import { Pool } from 'undici';

// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's own, never forwarded.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const strip = (headers) => {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k)) out[k] = v;
  return out;
};

/**
 * The request handler of a bare server: `forward` to an origin, or `answer` with fixed bytes
 * (a Buffer). bench/ab-cpu runs the same handlers in its own process (--floor).
 */
export function bareHandler(mode, arg) {
  if (mode === 'forward-json' || mode === 'answer-json') return jsonHandler(mode, arg);
  if (mode === 'forward') {
    // Bodies are read whole and written in one piece each way (a JSON API's bodies are
    // small): the cheapest way through undici and node:http, one write per message.
    const pool = new Pool(arg, { connections: 128, pipelining: 1 });
    return (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = chunks.length === 0 ? null : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        pool.request({ method: req.method, path: req.url, headers: strip(req.headers), body }).then(
          async (up) => {
            const out = Buffer.from(await up.body.arrayBuffer());
            const headers = strip(up.headers);
            headers['content-length'] = String(out.length);
            res.writeHead(up.statusCode, headers);
            res.end(out);
          },
          () => {
            res.writeHead(502).end();
          },
        );
      });
    };
  }
  const body = arg;
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  };
}

const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'ignore' };
const JSON_TYPE = 'application/json; charset=utf-8';

/** `forward-json` and `answer-json`: the floor with a JSON API's least work (see the top). */
function jsonHandler(mode, arg) {
  const pool = mode === 'forward-json' ? new Pool(arg, { connections: 128, pipelining: 1 }) : null;
  const answer = mode === 'answer-json' ? arg.toString('utf8') : '';
  const send = (res, status, id, text) => {
    res.writeHead(status, { 'x-request-id': id, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  return (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const v = req.headers['x-request-id'];
      const id = typeof v === 'string' && v !== '' && v.length <= 200 ? v : randomUUID();
      let body;
      try {
        body = sjson.parse(text, undefined, PARSE_OPTIONS);
      } catch {
        body = null;
      }
      if (body === null || typeof body !== 'object' || typeof body.model !== 'string') {
        send(res, 400, id, '{"error":{"message":"bad request"}}');
        return;
      }
      if (pool === null) {
        send(res, 200, id, answer);
        return;
      }
      pool.request({ method: 'POST', path: req.url, headers: ['content-type', 'application/json', 'accept', 'application/json', 'x-request-id', id], body: text }).then(
        async (up) => send(res, up.statusCode, id, await up.body.text()),
        () => send(res, 502, id, '{"error":{"message":"upstream failed"}}'),
      );
    });
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, arg] = process.argv.slice(2);
  if (!['forward', 'answer', 'forward-json', 'answer-json'].includes(mode) || !arg) {
    process.stderr.write('usage: node bench/bare.mjs forward|forward-json <origin> | answer|answer-json <file>\n');
    process.exit(2);
  }
  const server = createServer({ keepAliveTimeout: 65_000 }, bareHandler(mode, mode.startsWith('answer') ? readFileSync(arg) : arg));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`bare listening on http://127.0.0.1:${server.address().port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
