import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

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
  /** Cluster-enabled but owning no slot yet: a node for startRedisCluster. */
  readonly clusterNode?: boolean;
  /** A replica of the server on this port. */
  readonly replicaOf?: number;
  /** A sentinel (not a data server) watching the master on `masterPort` as group `name`. */
  readonly sentinel?: { readonly name: string; readonly masterPort: number };
}

const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
/** After SIGTERM, a server that has not exited within this long is killed. */
const STOP_TIMEOUT_MS = 5000;
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
  let writeSentinelConf: (() => void) | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
  if (options.cluster === true || options.clusterNode === true) args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', '2000');
  if (options.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
  if (options.sentinel !== undefined) {
    // A sentinel rewrites its config file, so it gets one of its own in the temporary folder.
    const conf = join(dir, 'sentinel.conf');
    const { name, masterPort } = options.sentinel;
    const lines = [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 10000`, `sentinel parallel-syncs ${name} 1`];
    args.splice(0, args.length, conf, '--sentinel');
    writeSentinelConf = () => writeFileSync(conf, `${lines.join('\n')}\n`);
  }
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    // stop() removed the directory; and a crashed cluster node must not come back with its old config.
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, 'nodes.conf'), { force: true });
    writeSentinelConf?.();
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
    // Bounded: a server that ignores SIGTERM is killed.
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
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

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A command to the server on `port` through a short-lived connection. */
async function command(port: number, name: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null, connectionName: 'sluice-test' });
  client.on('error', () => {});
  try {
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** redis://127.0.0.1:<port> of every node, as `state.redis` lists them. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/**
 * A local Redis Cluster of `size` masters and no replicas: cluster-enabled servers on free
 * ports, joined and given the slots by `redis-cli --cluster create`, ready once every node
 * says `cluster_state:ok`.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < size; i++) nodes.push(await startRedis({ clusterNode: true }));
    await promisify(execFile)(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const node of nodes) {
      await until(`cluster node ${node.port} is ok`, async () => String(await command(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') && String(await command(node.port, 'CLUSTER', 'NODES')).trim().split('\n').length === size, 20_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, urls: nodes.map((n) => n.url), stop };
}

export interface RedisSentinelGroup {
  /** The group's name, as `state.redis.name`. */
  readonly name: string;
  /** `host:port` of the sentinel, as `state.redis.sentinels` lists it. */
  readonly sentinels: readonly string[];
  /** The two data servers: the first started as the master, the second as its replica. */
  readonly servers: readonly [RedisServer, RedisServer];
  /** The port of the master the sentinel names now. */
  masterPort(): Promise<number>;
  /** Waits until the master's writes so far are on the replica (WAIT 1). */
  replicated(): Promise<void>;
  /**
   * `SENTINEL FAILOVER`, then waits until the sentinel names the replica as master, the
   * promoted server says so, and the old master has become its replica.
   */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/** One master, one replica and one sentinel watching them (quorum 1), on free ports. */
export async function startRedisSentinel(name = 'sluice'): Promise<RedisSentinelGroup> {
  const started: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.stop()));
  };
  const sentinelPortOf = (): number => started[2]!.port;
  const masterPort = async (): Promise<number> => {
    const [, port] = (await command(sentinelPortOf(), 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
    return Number(port);
  };
  const role = async (port: number): Promise<string> => ((await command(port, 'ROLE')) as [string])[0];
  try {
    const master = await startRedis();
    started.push(master);
    const replica = await startRedis({ replicaOf: master.port });
    started.push(replica);
    await until('the replica is in sync', async () => String(await command(replica.port, 'INFO', 'replication')).includes('master_link_status:up'), 20_000);
    started.push(await startRedis({ sentinel: { name, masterPort: master.port } }));
    // Sentinel finds the replica through the master's INFO; a failover needs it known and up.
    await until('the sentinel knows the replica', async () => {
      const replicas = (await command(sentinelPortOf(), 'SENTINEL', 'REPLICAS', name)) as string[][];
      return replicas.some((fields) => fields[fields.indexOf('port') + 1] === String(replica.port) && fields[fields.indexOf('flags') + 1] === 'slave');
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const servers = [started[0]!, started[1]!] as const;
  return {
    name,
    sentinels: [`127.0.0.1:${sentinelPortOf()}`],
    servers,
    masterPort,
    replicated: async () => {
      const port = await masterPort();
      const acked = Number(await command(port, 'WAIT', 1, 5000));
      if (acked < 1) throw new Error('the replica did not acknowledge the master\'s writes within 5 s');
    },
    failover: async () => {
      const before = await masterPort();
      const after = servers.find((s) => s.port !== before)!.port;
      await command(sentinelPortOf(), 'SENTINEL', 'FAILOVER', name);
      await until('the sentinel names the new master', async () => (await masterPort()) === after, 30_000);
      await until('the replica is promoted', async () => (await role(after)) === 'master', 30_000);
      await until('the old master follows the new one', async () => (await role(before)) === 'slave' && String(await command(before, 'INFO', 'replication')).includes('master_link_status:up'), 30_000);
    },
    stop,
  };
}
