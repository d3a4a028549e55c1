import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Pool } from 'undici';
import type { CompiledService } from '../config/services.js';
import { SluiceError, toSluiceError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { EventBus } from '../observability/events.js';
import { cancelWhenClientLeaves } from '../exchange/client-gone.js';
import { clientClosed, logInternal, writeErrorBody } from '../surfaces/respond.js';
import { compose, type Next, type Stage } from '../exchange/compose.js';
import { summarizeService } from '../exchange/summary.js';
import type { Guard, GuardScope } from '../policies/guard.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { RetryBudget } from '../routing/retry.js';
import { Balancer } from './balancer.js';
import { HttpContext } from './context.js';
import { ForwardStage } from './forward.js';
import { InstanceState } from './instance.js';
import { ServiceTable } from './table.js';
import { hasEncodedSlash, normalizeTarget } from './path.js';
import { noUpgrades, proxyUpgrade, refuseUpgrade } from './websocket.js';

export interface HttpServicesDeps {
  readonly services: readonly CompiledService[];
  readonly pools: UpstreamPools;
  readonly clock: Clock;
  readonly random: () => number;
  readonly guard: Guard;
  /** Builds a service's admit stage; null when nothing is ever limited (the stage is left out). */
  readonly admit: ((service: CompiledService) => Stage<HttpContext>) | null;
  /** Builds a service's response cache stage (only for services with `cache`). */
  readonly cache: (service: CompiledService) => Stage<HttpContext> | null;
  readonly bus: EventBus;
  /** Whether the direct peer is a trusted proxy (edge/client-address.ts). */
  readonly trusted: (peer: string) => boolean;
  /** The client's address under `server.trustProxy` (edge/client-address.ts). */
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly now: () => number;
  /** Where 500s are logged with their cause. */
  readonly logger: Logger;
}

/** One service of one config version: its instances, balancer and chain of stages. */
export class ServiceRuntime {
  readonly service: CompiledService;
  readonly instances: readonly InstanceState[];
  readonly balancer: Balancer;
  readonly chain: Next<HttpContext>;
  readonly guardScope: GuardScope;
  readonly #pools: UpstreamPools;

  constructor(service: CompiledService, deps: HttpServicesDeps) {
    this.service = service;
    this.#pools = deps.pools;
    this.instances = service.instances.map(
      (_, i) => new InstanceState(i, service, deps.clock, (signal) => this.#probe(this.instances[i]!, signal), (t) => deps.bus.emit('http:instance', t)),
    );
    this.balancer = new Balancer(service, this.instances, deps.clock, deps.random);
    const budget = new RetryBudget({ ratio: service.retry.budget, minPerSecond: service.retry.budgetMinPerSecond, windowMs: 10_000 }, deps.clock);
    const forward = new ForwardStage({ balancer: this.balancer, budget, pool: (i) => this.pool(i), clock: deps.clock, trusted: deps.trusted });
    this.chain = compose(serviceStages(service, deps, forward));
    this.guardScope = { name: service.name, ipLimits: service.ipLimits, authRequired: service.authRequired };
  }

  pool(instance: InstanceState): Pool {
    return this.#pools.get(instance.config.origin, { connections: this.service.connections, connectTimeoutMs: this.service.timeouts.connectMs });
  }

  /** An active health check: GET the check path; any 2xx or 3xx passes. */
  async #probe(instance: InstanceState, signal: AbortSignal): Promise<void> {
    const hc = this.service.healthCheck!;
    const res = await this.pool(instance).request({ method: 'GET', path: instance.config.basePath + hc.path, headers: { host: instance.config.host, 'user-agent': 'sluice-health-check' }, signal });
    await res.body.dump();
    if (res.statusCode >= 400) throw new Error(`health check answered ${res.statusCode}`);
  }
}

/**
 * A service's chain, built in this one place per config version: identification and per-IP
 * limits run before it (Guard, as for model routes), then admit (the principal's and the
 * service's limits), then the response cache for GET/HEAD when the service has one (as on
 * model routes), then forward.
 */
function serviceStages(service: CompiledService, deps: HttpServicesDeps, forward: ForwardStage): Stage<HttpContext>[] {
  const stages: Stage<HttpContext>[] = [];
  if (deps.admit !== null) stages.push(deps.admit(service));
  const cache = deps.cache(service);
  if (cache !== null) stages.push(cache);
  stages.push(forward);
  return stages;
}

function invalidPath(why: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_PATH', { message: `The request path is refused: ${why}.` });
}

/**
 * The HTTP services of one gateway: matching, the request path and WebSocket upgrades, and
 * the instances' health checks.
 */
export class HttpServices {
  readonly runtimes: readonly ServiceRuntime[];
  readonly #table: ServiceTable<ServiceRuntime>;
  readonly #deps: HttpServicesDeps;
  readonly #tunnels = new Set<Duplex>();

  constructor(deps: HttpServicesDeps) {
    this.#deps = deps;
    this.runtimes = deps.services.map((s) => new ServiceRuntime(s, deps));
    this.#table = new ServiceTable(this.runtimes);
  }

  /**
   * The service a request goes to, matched on its normalised target (http/path.ts), with that
   * target; or the path error when a service would take a target that is refused.
   */
  #resolve(host: string | undefined, url: string, method: string): { rt: ServiceRuntime; url: string } | { rt: ServiceRuntime; error: SluiceError } | null {
    const target = normalizeTarget(url);
    if (target === null) {
      // Refused only when a service would take it as it came: other paths stay the gateway's.
      const rt = this.#table.match(host, url, method);
      return rt === null ? null : { rt, error: invalidPath('it has a backslash, an encoded NUL, a malformed escape or a ".." above the root') };
    }
    const rt = this.#table.match(host, target, method);
    if (rt === null) return null;
    if (!rt.service.allowEncodedSlashes && hasEncodedSlash(target)) return { rt, error: invalidPath(`it has an encoded slash or backslash (%2F, %5C), which service "${rt.service.name}" does not allow`) };
    return { rt, url: target };
  }

  /**
   * Takes the request when a service matches it (the edge's dispatch, before any body is read);
   * false leaves it to the model endpoints and the control plane.
   */
  take(req: IncomingMessage, res: ServerResponse, id: string): boolean {
    if (this.#table.size === 0) return false;
    const found = this.#resolve(req.headers.host, req.url ?? '/', req.method ?? 'GET');
    if (found === null) return false;
    if ('error' in found) {
      // Nothing was forwarded; an unread body is drained so the client reads the answer.
      req.resume();
      writeErrorBody(res, found.error, found.error.toBody(), id, null, null);
      return true;
    }
    void this.#serve(found.rt, req, res, id, found.url);
    return true;
  }

  async #serve(rt: ServiceRuntime, req: IncomingMessage, res: ServerResponse, id: string, url: string): Promise<void> {
    const ip = this.#deps.clientAddress(req);
    const ctx = new HttpContext(id, rt.service, req, res, ip, this.#deps.now(), url);
    cancelWhenClientLeaves(res, ctx);
    try {
      ctx.principal = await this.#deps.guard.check(ip, req.headers, rt.guardScope);
      await rt.chain(ctx);
    } catch (err) {
      const reason: unknown = ctx.controller.reason;
      // A client that left (an aborted upload too) is its own outcome, 499, not a gateway 500.
      const e = ctx.clientGone ? clientClosed() : reason instanceof SluiceError ? reason : toSluiceError(err);
      ctx.status = e.status;
      ctx.errorCode = e.code;
      if (!ctx.clientGone) {
        logInternal(this.#deps.logger, e, ctx.id);
        // A body left unread (refused before or while forwarding) is drained, so the client
        // can read the answer instead of seeing the connection reset under its upload.
        if (!ctx.req.complete) {
          ctx.req.unpipe();
          ctx.req.resume();
        }
        writeErrorBody(res, e, e.toBody(), ctx.id, null, ctx.responseHeaders);
      }
    }
    ctx.endedAt = this.#deps.now();
    this.#deps.bus.emit('http:end', summarizeService(ctx));
  }

  /** The server's 'upgrade' event: WebSocket (or other) upgrades pass through to an instance. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ip: string, requestId: string): void {
    const found = this.#resolve(req.headers.host, req.url ?? '/', req.method ?? 'GET');
    if (found === null || !found.rt.service.websocket) {
      refuseUpgrade(socket, noUpgrades(), requestId);
      return;
    }
    if ('error' in found) {
      refuseUpgrade(socket, found.error, requestId);
      return;
    }
    const rt = found.rt;
    // proxyUpgrade forwards req.url: the normalised target, as for ordinary requests.
    req.url = found.url;
    void proxyUpgrade({ guard: this.#deps.guard, trusted: this.#deps.trusted, tunnels: this.#tunnels, logger: this.#deps.logger }, rt, req, socket, head, ip, requestId);
  }

  start(): void {
    for (const rt of this.runtimes) for (const i of rt.instances) i.health?.start();
  }

  /** Stops the health checks and closes WebSocket tunnels (their clients reconnect, to another gateway instance while this one drains). */
  stop(): void {
    for (const rt of this.runtimes) for (const i of rt.instances) i.health?.stop();
    for (const socket of this.#tunnels) socket.destroy();
    this.#tunnels.clear();
  }
}

