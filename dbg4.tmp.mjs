import http from 'node:http';
import { request } from 'undici';
const { compileConfig } = await import('/work/wt-http/dist/src/config/compile.js');
const { validateConfig } = await import('/work/wt-http/dist/src/config/load.js');
const { createLogger } = await import('/work/wt-http/dist/src/observability/logger.js');
const { Gateway } = await import('/work/wt-http/dist/src/server/app.js');
let conns = 0;
const up = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }); res.end('{}'); }); });
up.on('connection', () => conns++);
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const gw = await Gateway.create(compileConfig(validateConfig({ server: { port: 0 }, logging: { level: 'warn' }, services: [{ name: 'api', match: { pathPrefix: '/' }, instances: [{ url: `http://127.0.0.1:${up.address().port}` }] }] }, 't', {}), 't'), { logger: createLogger('warn') });
const { url } = await gw.listen();
for (const [label, opts] of [['GET', {}], ['POST', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }]]) {
  conns = 0; const t0 = performance.now();
  for (let i = 0; i < 200; i++) { const r = await request(`${url}/x`, opts); await r.body.text(); }
  console.log(label, 'upstream connections', conns, 'avg ms', ((performance.now() - t0) / 200).toFixed(2));
}
await gw.shutdown(100); up.close();
