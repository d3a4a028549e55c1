import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { MAX_LEVEL_TICKS } from './gcra.js';

/**
 * The Redis store's scripts: one per operation, each touching exactly one key (so it runs on
 * one Redis Cluster slot), each taking `now` from the caller's clock as ARGV[1] instead of
 * calling TIME, so Redis decides exactly as the memory store does for the same clock. The
 * GCRA arithmetic mirrors src/stores/gcra.ts; see there and docs/limits.md.
 *
 * Lua 5.1 numbers are doubles: integers below 2^53 are exact, and `%.0f` prints them without
 * the exponent that the default `%.14g` would use for large ones.
 */

/** A GCRA bucket: GET its TAT "<ms>:<ticks>" and turn it into a level; SET it back with a TTL. */
const GCRA_HELPERS = `
local function level_of(key, now, per_ms)
  local tat = redis.call('GET', key)
  if not tat then return 0 end
  local ms, ticks = string.match(tat, '^(%-?%d+):(%d+)$')
  if not ms then return 0 end
  local level = (tonumber(ms) - now) * per_ms + tonumber(ticks)
  if level < 0 then return 0 end
  return level
end
local function store(key, level, now, per_ms, slack)
  if level <= 0 then
    redis.call('DEL', key)
    return
  end
  local whole = math.floor(level / per_ms)
  local ticks = level - whole * per_ms
  local ttl = whole + slack
  if ticks > 0 then ttl = ttl + 1 end
  redis.call('SET', key, string.format('%.0f:%.0f', now + whole, ticks), 'PX', string.format('%.0f', ttl))
end
`;

/** KEYS[1] bucket; ARGV now, perMs, perUnit, capacity, cost, slackMs → {allowed 0|1, level after}. */
const GCRA_CONSUME = `${GCRA_HELPERS}
local now = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local level = level_of(KEYS[1], now, per_ms)
local after = level + tonumber(ARGV[5]) * tonumber(ARGV[3])
if after > tonumber(ARGV[4]) then return {0, level} end
store(KEYS[1], after, now, per_ms, tonumber(ARGV[6]))
return {1, after}
`;

/** KEYS[1] bucket; ARGV now, perMs, perUnit, delta, slackMs → level after. */
const GCRA_ADJUST = `${GCRA_HELPERS}
local now = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local after = level_of(KEYS[1], now, per_ms) - tonumber(ARGV[4]) * tonumber(ARGV[3])
if after > ${MAX_LEVEL_TICKS} then after = ${MAX_LEVEL_TICKS} end
store(KEYS[1], after, now, per_ms, tonumber(ARGV[5]))
if after < 0 then return 0 end
return after
`;

/**
 * KEYS[1] sorted set of lease id → expiry time; ARGV now, limit, leaseMs, lease id, slackMs
 * → 1 taken, 0 full. Expired leases (expiry <= now) are dropped first; the key itself expires
 * with its last lease.
 */
const LEASE_ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[4])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(last[2]) - now + tonumber(ARGV[5])))
return 1
`;

/**
 * KEYS[1] hash {v: total, e: expiry time}; ARGV now, amount, ttlMs, slackMs → new total
 * (a string). The expiry is set by the first write only (PEXPIRE NX, emulated for Redis 6)
 * and judged against the caller's clock; the key's own TTL only collects garbage.
 */
const COUNTER_ADD = `
local now = tonumber(ARGV[1])
local expires = redis.call('HGET', KEYS[1], 'e')
if expires and tonumber(expires) <= now then
  redis.call('DEL', KEYS[1])
  expires = false
end
if not expires then
  redis.call('HSET', KEYS[1], 'e', string.format('%.0f', now + tonumber(ARGV[3])))
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(ARGV[3]) + tonumber(ARGV[4])))
end
return redis.call('HINCRBYFLOAT', KEYS[1], 'v', ARGV[2])
`;

/** Raises a mark (ARGV: now, value, ttlMs, slack): kept when the live mark is at least the value. */
const MARK_RAISE = `
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'v', 'e')
if cur[1] and cur[2] and tonumber(cur[2]) > now and tonumber(cur[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'e', string.format('%.0f', now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(ARGV[3]) + tonumber(ARGV[4])))
return 1
`;

export type ScriptArg = string | number;

/**
 * A script run by EVALSHA, falling back to EVAL when the server does not have it cached
 * (first use, or after a restart or SCRIPT FLUSH). A NOSCRIPT reply means the script did not
 * run, so sending it again cannot apply it twice.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis | Cluster, key: string, args: readonly ScriptArg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, 1, key, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, 1, key, ...args);
    }
  }
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

export const scripts = {
  consume: new LuaScript(GCRA_CONSUME),
  adjust: new LuaScript(GCRA_ADJUST),
  acquire: new LuaScript(LEASE_ACQUIRE),
  add: new LuaScript(COUNTER_ADD),
  mark: new LuaScript(MARK_RAISE),
} as const;
