#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, formatProblem, loadConfigFile } from '../config/load.js';
import { compileConfig, type RuntimeConfig } from '../config/compile.js';
import { StartupError } from '../db/startup-error.js';
import { BUILTIN_SOURCE, parsePort, resolveConfig } from '../config/resolve.js';
import { watchConfig } from '../gateway/watch.js';
import { startMockServer } from '../mock/server.js';
import { defaultMockOptions, type MockOptions } from '../mock/options.js';
import { createLogger } from '../observability/logger.js';
import { Gateway } from '../gateway/gateway.js';
import { orphanSpools } from '../accounting/orphans.js';
import { runPrimary } from '../cluster/primary.js';
import { forWorker, workerRole } from '../cluster/worker.js';
import { benchCommand } from './bench.js';
import { keysCommand } from './keys.js';

const HELP = `sluice — a gateway for AI-backed APIs

Usage: sluice <command> [options]

Commands:
  start           Start the gateway (default config: 127.0.0.1:8787, every model to the mock)
  mock            Start a standalone OpenAI-compatible mock upstream
  config check    Validate a configuration file and print each problem with its path
  keys            Create, list, rotate and revoke virtual API keys (through the admin API)
  bench           Load-test any OpenAI-compatible endpoint (open or closed loop, SLOs)

Run "sluice <command> --help" for a command's options; "sluice --version" prints the version.
`;

/** The version in the package.json beside the compiled code (dist/src/cli/ → the package root). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

const START_HELP = `Usage: sluice start [--config FILE] [--host HOST] [--port PORT]

Starts the gateway.

Options:
  -c, --config FILE   Configuration file (env SLUICE_CONFIG; default ./sluice.yaml if present,
                      else the built-in default: every model routed to the built-in mock)
      --host HOST     Address to bind (env SLUICE_HOST; default 127.0.0.1)
  -p, --port PORT     Port to bind, 0 for any free port (env SLUICE_PORT; default 8787)
  -h, --help          Show this help

SIGTERM or SIGINT stops accepting requests, lets requests and streams in flight finish for up
to server.drainTimeout, then exits 0. SIGHUP reloads the config file: an invalid one, or one
that changes a restart-only setting, is refused and the running config keeps serving.
`;

const MOCK_HELP = `Usage: sluice mock [--port PORT] [--host HOST] [fault options]

Starts an OpenAI-compatible mock upstream (chat, completions, embeddings, streaming), with
deterministic answers for a given request.

Options:
      --host HOST                 Address to bind (default 127.0.0.1)
  -p, --port PORT                 Port to bind, 0 for any free port (default 8788)
      --latency-ms N              Delay before the first byte of every answer (default 0)
      --tokens-per-second N       Streaming pace; 0 sends chunks at once (default 0)
      --status N                  Answer every request with this HTTP status
      --fail-rate F               Fraction (0..1) of requests answered with 500 (default 0)
      --drop-after-chunks N       Cut streams abruptly after N chunks
      --retry-after N             Seconds sent in Retry-After with 429 answers
      --seed N                    Seed of the fail-rate sequence (default 1)
  -h, --help                      Show this help
`;

const CONFIG_HELP = `Usage: sluice config check FILE

Validates FILE (with \${ENV_VAR} interpolation from the environment) and prints each problem
as "path: reason", for example:
  routes[1].targets[0].provider: unknown provider "opena1"
Exits 0 when the file is valid, 1 when it is not.
`;

function fail(message: string): never {
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(2);
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(START_HELP);
    return;
  }
  // A cluster worker (`server.workers` > 1) serves like a single process, sharing the
  // embedded state, cache and database through the primary (src/cluster/).
  const role = workerRole();
  let config;
  // The same flags and environment resolve the config again at every reload.
  const resolve = (): RuntimeConfig => resolveConfig({ configFile: values.config, host: values.host, port: values.port === undefined ? undefined : parsePort(values.port, '--port') });
  const load = role === null ? resolve : (): RuntimeConfig => forWorker(resolve(), role.slot);
  try {
    config = load();
  } catch (err) {
    if (err instanceof ConfigError) {
      // A file that cannot be read is one problem with no path: one line says it all.
      const only = err.problems.length === 1 && err.problems[0]!.path === '' ? err.problems[0]!.message : null;
      process.stderr.write(`sluice: ${only ?? err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Lines are scrubbed of the secrets of the config serving (a reload's new keys included).
  let serving = (): RuntimeConfig => config;
  const base = createLogger(config.logging.level, undefined, { scrub: (line) => serving().redactor.scrub(line) });
  const logger = role === null ? base : base.child({ worker: role.slot });
  const file = config.source === BUILTIN_SOURCE ? null : config.source;
  if (role === null && config.server.workers > 1) {
    try {
      await runPrimary(config, { logger, file });
    } catch (err) {
      if (err instanceof StartupError) {
        process.stderr.write(`sluice: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    return;
  }
  // A SIGTERM or SIGINT that comes while the gateway starts is kept and acted on once it
  // listens: the default action would end the process at once, without draining or shipping
  // its usage spool (a replacement worker ships its predecessor's; issue 19).
  let early: string | null = null;
  const onEarlyTerm = (): void => void (early ??= 'SIGTERM');
  const onEarlyInt = (): void => void (early ??= 'SIGINT');
  process.on('SIGTERM', onEarlyTerm);
  process.on('SIGINT', onEarlyInt);
  let gateway: Gateway;
  try {
    // Spool folders an earlier worker layout left: a single process ships every worker's, and
    // worker 1 those of slots beyond this run's (and the single process's own, left at the root).
    const root = role === null ? config.usage.spoolDir : dirname(config.usage.spoolDir);
    const orphans = config.usage.enabled ? orphanSpools(root, config.server.workers, role === null ? null : role.slot) : [];
    gateway = await Gateway.create(config, { logger, load, orphanSpools: orphans, ...(role === null ? {} : { cluster: role.channel }) });
  } catch (err) {
    // A setup problem the operator fixes (a data folder in use): one line, no stack trace.
    if (err instanceof StartupError) {
      process.stderr.write(`sluice: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  serving = () => gateway.config;
  let address;
  try {
    address = await gateway.listen();
  } catch (err) {
    const reason = listenFailure(err, config.server.host, config.server.port);
    if (reason === null) throw err;
    process.stderr.write(`sluice: ${reason}\n`);
    await gateway.shutdown(0).catch(() => {});
    process.exit(1);
  }
  // In a cluster, the primary says so once every worker listens.
  if (role === null) logger.info({ url: address.url, config: config.source, routes: config.routes.length }, 'sluice listening');
  else logger.debug({ url: address.url }, 'worker listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.server.drainTimeoutMs }, 'draining');
    gateway.shutdown().then(
      (drained) => {
        logger.info({ drained }, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.removeListener('SIGTERM', onEarlyTerm);
  process.removeListener('SIGINT', onEarlyInt);
  if (early !== null) stop(early);
  // Hot reload (issue 20): the outcome is logged by the gateway; a refused config leaves the old one serving.
  const reload = (trigger: string): void => {
    if (stopping) return;
    logger.info({ trigger }, 'reloading the config');
    void gateway.reload();
  };
  if (role !== null) {
    // The primary forwards SIGHUP and the file watch's changes (cluster/join.ts); a worker left without its primary drains and exits.
    process.on('SIGHUP', () => {});
    process.on('disconnect', () => stop('primary gone'));
    return;
  }
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (config.reload.watch && file !== null) watchConfig(file, config.reload.debounceMs, () => reload('file change'), logger);
}

/** One line for an operator's mistake at listen time (port taken, not allowed), else null. */
function listenFailure(err: unknown, host: string, port: number): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: the address is already in use; stop the other process or set another port (server.port in the config, --port or SLUICE_PORT; 0 picks a free one)`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied; ports below 1024 need privileges, so set server.port (--port, SLUICE_PORT) to 1024 or above`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such address on this machine; set server.host (--host, SLUICE_HOST), e.g. 127.0.0.1`;
  return null;
}

function numberFlag(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) fail(`${flag}: expected a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

async function mock(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'latency-ms': { type: 'string' },
      'tokens-per-second': { type: 'string' },
      status: { type: 'string' },
      'fail-rate': { type: 'string' },
      'drop-after-chunks': { type: 'string' },
      'retry-after': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(MOCK_HELP);
    return;
  }
  const options: MockOptions = {
    latencyMs: numberFlag(values['latency-ms'], '--latency-ms', 0) ?? defaultMockOptions.latencyMs,
    tokensPerSecond: numberFlag(values['tokens-per-second'], '--tokens-per-second', 0) ?? defaultMockOptions.tokensPerSecond,
    status: numberFlag(values.status, '--status', 400, 599) ?? null,
    failRate: numberFlag(values['fail-rate'], '--fail-rate', 0, 1) ?? 0,
    dropAfterChunks: numberFlag(values['drop-after-chunks'], '--drop-after-chunks', 0) ?? null,
    retryAfter: numberFlag(values['retry-after'], '--retry-after', 0) ?? null,
    seed: numberFlag(values.seed, '--seed', 0) ?? defaultMockOptions.seed,
  };
  const port = values.port === undefined ? 8788 : parsePort(values.port, '--port');
  const server = await startMockServer({ host: values.host ?? '127.0.0.1', port, options });
  process.stdout.write(`sluice mock listening on ${server.url}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function configCheck(argv: string[]): void {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help === true || positionals[0] !== 'check') {
    process.stdout.write(CONFIG_HELP);
    if (values.help !== true) process.exit(2);
    return;
  }
  const file = positionals[1];
  if (file === undefined) fail('config check: missing FILE (see "sluice config check --help")');
  try {
    const config = compileConfig(loadConfigFile(file), file);
    process.stdout.write(`${file}: ok (${Object.keys(config.providers).length} providers, ${config.routes.length} routes${config.services.length > 0 ? `, ${config.services.length} services` : ''})\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${file}: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}\n`);
    for (const p of err.problems) process.stdout.write(`${formatProblem(p)}\n`);
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'mock':
      return mock(rest);
    case 'config':
      return configCheck(rest);
    case 'bench':
      process.exitCode = await benchCommand(rest);
      return;
    case 'keys':
      process.exitCode = await keysCommand(rest);
      return;
    case '-v':
    case '--version':
    case 'version':
      process.stdout.write(`sluice ${version()}\n`);
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) fail(err.message);
  if (err instanceof RangeError) fail(err.message);
  process.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
