#!/usr/bin/env node
// Node's own floor for bench/compare (issue 19): what a proxy written in a few lines of
// node:http costs on this machine, so Sluice's CPU per request can be read against it.
//
//   node bench/bare.mjs forward <origin>   forwards every request to <origin> with an undici
//                                          Pool: method, path, headers and body streamed
//                                          through, the answer's status, headers and body back
//   node bench/bare.mjs answer <file>      answers every request with the bytes of <file>
//                                          (JSON), after reading the request body
//
// Prints `bare listening on http://127.0.0.1:<port>` and serves until SIGTERM. Loopback only.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [mode, arg] = process.argv.slice(2);
if (!['forward', 'answer'].includes(mode) || !arg) {
  process.stderr.write('usage: node bench/bare.mjs forward <origin> | answer <file>\n');
  process.exit(2);
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's own, never forwarded.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const strip = (headers) => {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k)) out[k] = v;
  return out;
};

let handler;
if (mode === 'forward') {
  const pool = new Pool(arg, { connections: 128, pipelining: 1 });
  handler = (req, res) => {
    pool.request({ method: req.method, path: req.url, headers: strip(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? null : req }).then(
      (up) => {
        res.writeHead(up.statusCode, strip(up.headers));
        up.body.pipe(res);
      },
      () => {
        res.writeHead(502).end();
      },
    );
  };
} else {
  const body = readFileSync(arg);
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  };
}

const server = createServer({ keepAliveTimeout: 65_000 }, handler);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
