import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops it gracefully (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, as far as clients can tell. */
  kill(): Promise<void>;
  /** Starts it again on the same port (stopping it first if it runs, also after stop()); empty, as nothing is persisted. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** A one-node Redis Cluster owning every slot, for testing cluster clients. */
  readonly cluster?: boolean;
  /** Listen on this port (e.g. one a gateway already tries to reach) instead of a free one. */
  readonly port?: number;
}

const REDIS_SERVER = '/usr/bin/redis-server';
const READY_TIMEOUT_MS = 5000;
const running = new Set<ChildProcess>();

// A test that fails before calling stop(), or a runner stopped by a signal (a timeout, ^C),
// must not leave a redis-server behind. (SIGKILL cannot be caught.)
function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    // Then die of the same signal, as the default handler would have.
    process.kill(process.pid, signal);
  });
}

/** Starts a throwaway redis-server on a free port of 127.0.0.1 and waits until it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
  if (options.cluster === true) args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1');
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    // stop() removed the directory; and a crashed cluster node must not come back with its old config.
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, 'nodes.conf'), { force: true });
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    await waitForPing(port, proc);
    if (options.cluster === true) await makeSingleNodeCluster(port);
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      await start();
    },
  };
}

/** A port nothing listens on right now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** Sends one inline command and resolves with the raw reply (enough for PING and CLUSTER). */
export function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('no reply')));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`connection closed before a reply to ${command}`)));
  });
}

async function waitForPing(port: number, proc: ChildProcess): Promise<void> {
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr}`);
    try {
      if ((await rawCommand(port, 'PING')).startsWith('+PONG')) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function makeSingleNodeCluster(port: number): Promise<void> {
  await rawCommand(port, 'CLUSTER ADDSLOTSRANGE 0 16383');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await rawCommand(port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
    if (Date.now() > deadline) throw new Error(`the one-node cluster on port ${port} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
