import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './redis.js';
import { openDatabase, type Database } from '../../src/db/index.js';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server and keeps its data (an outage); `resume` starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL refuses to run as root, so when the tests run as root its commands run as `postgres`. */
function asPostgres(cmd: string, args: string[]): readonly [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function waitForConnections(url: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() - started > 20_000) throw new Error('postgres did not start within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs a cluster from its data folder on `port`, with start, halt (keep data) and stop (remove it). */
async function serve(dir: string, data: string, port: number): Promise<PostgresServer> {
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | null = null;
  const launch = async (): Promise<void> => {
    const [cmd, args] = asPostgres(`${BIN}/postgres`, ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off']);
    child = spawn(cmd, args, { stdio: 'ignore' });
    await waitForConnections(url);
  };
  const halt = async (): Promise<void> => {
    const running = child;
    if (running === null) return;
    child = null;
    // Through pg_ctl: `runuser` does not pass signals on to the server it started.
    const [stopCmd, stopArgs] = asPostgres(`${BIN}/pg_ctl`, ['-D', data, 'stop', '-m', 'fast', '-w']);
    const exited = running.exitCode !== null ? Promise.resolve() : new Promise((r) => running.once('exit', r));
    await run(stopCmd, stopArgs).catch(() => running.kill('SIGKILL'));
    await exited;
  };
  await launch();
  return {
    url,
    port,
    halt,
    resume: launch,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a throwaway PostgreSQL 15 cluster on a free loopback port. */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const [initCmd, initArgs] = asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  await run(initCmd, initArgs);
  return serve(dir, data, await freePort());
}

/**
 * Starts a streaming replica of `primary` on another loopback port: pg_basebackup with -R
 * writes standby.signal and the connection to the primary, so it starts as a hot standby.
 */
export async function startReplica(primary: PostgresServer): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-replica-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const [cmd, args] = asPostgres(`${BIN}/pg_basebackup`, ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync']);
  await run(cmd, args);
  return serve(dir, data, await freePort());
}

/** One database a test opens fresh: embedded SQLite in memory, or the file's PostgreSQL server. */
export interface DatabaseTarget {
  readonly name: string;
  open(): Promise<Database>;
}

/**
 * The same cases against embedded SQLite (in memory) and a real PostgreSQL server, started on
 * first use and shared by the file's cases; `stop` it in the file's `after`.
 */
export function bothDatabases(): { readonly targets: readonly DatabaseTarget[]; stop(): Promise<void> } {
  const options = { poolSize: 2, statementTimeoutMs: 5_000 };
  let server: PostgresServer | null = null;
  return {
    targets: [
      { name: 'SQLite (memory)', open: () => openDatabase({ ...options, url: null, dataDir: null }) },
      {
        name: 'PostgreSQL',
        open: async () => {
          server ??= await startPostgres();
          return openDatabase({ ...options, url: server.url, dataDir: null });
        },
      },
    ],
    stop: async () => {
      await server?.stop();
    },
  };
}
