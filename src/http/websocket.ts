import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { SluiceError, toSluiceError } from '../errors.js';
import type { Logger } from 'pino';
import type { Guard } from '../policies/guard.js';
import { logInternal } from '../surfaces/respond.js';
import { mapUpstreamError } from '../upstream/errors.js';
import { credentialToStrip, rewritePath, upstreamHeaders } from './headers.js';
import type { Principal } from '../exchange/principal.js';
import type { ServiceRuntime } from './services.js';

export interface UpgradeDeps {
  readonly guard: Guard;
  readonly trusted: (peer: string) => boolean;
  /** Open tunnels (client sockets), so a shutdown can close them: the HTTP server no longer tracks upgraded sockets. */
  readonly tunnels: Set<Duplex>;
  /** Where a 500 is logged with its cause. */
  readonly logger: Logger;
}

/**
 * Passes an HTTP upgrade (WebSocket) through to an instance: the client is identified and its
 * IP limits apply as for any request to the service, then the upstream's 101 is relayed and
 * the two sockets are piped to each other, with backpressure, until either side closes. The
 * frames are not parsed: Sluice is a byte pipe once the handshake is done.
 */
export async function proxyUpgrade(deps: UpgradeDeps, rt: ServiceRuntime, req: IncomingMessage, client: Duplex, head: Buffer, ip: string, requestId: string): Promise<void> {
  client.on('error', () => client.destroy());
  let principal: Principal;
  try {
    principal = await deps.guard.check(ip, req.headers, rt.guardScope);
  } catch (err) {
    const e = toSluiceError(err);
    logInternal(deps.logger, e, requestId);
    refuseUpgrade(client, e, requestId);
    return;
  }
  const pick = rt.balancer.pick({ headers: req.headers, ip, path: (req.url ?? '/').split('?', 1)[0]! }, new Set());
  const attempt = pick?.instance.begin() ?? null;
  if (pick === null || attempt === null) {
    refuseUpgrade(client, new SluiceError('SLUICE_ERR_NO_HEALTHY_TARGET', { message: `No instance of service "${rt.service.name}" is available.` }), requestId);
    return;
  }
  const inst = pick.instance.config;
  const svc = rt.service;
  const headers = upstreamHeaders(req, inst.host, requestId, deps.trusted(req.socket.remoteAddress ?? ''), credentialToStrip(svc.forwardCredentials, principal, req.headers));
  let upstream: Duplex;
  let upstreamHead: Record<string, string | string[] | undefined>;
  try {
    const protocol = String(req.headers.upgrade ?? 'websocket');
    const data = await rt.pool(pick.instance).upgrade({ path: rewritePath(req.url ?? '/', svc.pathPrefix, svc.rewritePrefix, inst.basePath), method: 'GET', headers: headers as Record<string, string>, protocol });
    upstream = data.socket;
    upstreamHead = data.headers as Record<string, string | string[] | undefined>;
  } catch (err) {
    attempt.finish('failure');
    refuseUpgrade(client, toSluiceError(mapUpstreamError(err, inst.url, false)), requestId);
    return;
  }
  attempt.finish('success');
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  let response = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const [name, value] of Object.entries(upstreamHead)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) response += `${name}: ${v}\r\n`;
  }
  if (pick.setCookie !== null) response += `set-cookie: ${pick.setCookie}\r\n`;
  client.write(`${response}\r\n`);
  if (head.length > 0) upstream.write(head);
  deps.tunnels.add(client);
  upstream.on('error', () => client.destroy());
  upstream.on('close', () => client.destroy());
  client.on('close', () => {
    deps.tunnels.delete(client);
    upstream.destroy();
  });
  upstream.pipe(client);
  client.pipe(upstream);
}

/** Answers an upgrade request with an error response in the catalog's shape and closes the socket. */
export function refuseUpgrade(socket: Duplex, e: SluiceError, requestId: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(e.toBody());
  let head = `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(e.headers ?? {})) head += `${k}: ${v}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

/** The refusal of an upgrade no service takes. */
export function noUpgrades(): SluiceError {
  return new SluiceError('SLUICE_ERR_NOT_FOUND', { message: 'No service takes upgrades on this path.' });
}
