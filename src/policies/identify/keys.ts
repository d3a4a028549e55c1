import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { compileBudget, compileLimits, type ConfigKey } from '../../config/compile.js';
import type { BudgetConfig, LimitsConfig } from '../../config/schema.js';
import type { Database, Row } from '../../db/index.js';
import { isSluiceError, SluiceError } from '../../errors.js';
import { digestEquals, generateKey, hashSecret, keyPrefix } from '../../lib/hash.js';
import type { Clock } from '../../lib/clock.js';
import type { Principal } from '../../exchange/principal.js';

/** A key as the admin API shows it: never its value or hash. */
export interface KeyInfo {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly user: string | null;
  readonly tier: string;
  readonly models: readonly string[] | null;
  readonly limits: LimitsConfig | null;
  readonly budget: BudgetConfig | null;
  readonly metadata: Record<string, unknown>;
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly source: 'config' | 'database';
}

export interface NewKey {
  name: string;
  tier?: string | undefined;
  user?: string | undefined;
  models?: string[] | undefined;
  limits?: LimitsConfig | undefined;
  budget?: BudgetConfig | undefined;
  metadata?: Record<string, unknown> | undefined;
  expiresAt?: string | undefined;
}

interface KeyRow {
  [k: string]: unknown;
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  user_id: string | null;
  tier: string;
  models: string[] | null;
  limits: LimitsConfig | null;
  budget: BudgetConfig | null;
  metadata: Record<string, unknown>;
  expires_at: Date | string | null;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

/** What a key lookup remembers: the principal, or that there is none (negative cache). */
type Cached = { principal: Principal; expiresAt: number | null } | null;

/** A remembered lookup, fresh until `freshUntil` (monotonic ms); kept past it for outages. */
interface Entry {
  readonly value: Cached;
  freshUntil: number;
}

/** While the database is away, a key served from a stale entry asks it again at most this often. */
const OUTAGE_RETRY_MS = 1_000;

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** A JSON column: PostgreSQL's jsonb and text[] arrive parsed, SQLite's JSON text does not. */
function json<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/** A row from either database with its JSON columns parsed. */
function decode(row: KeyRow): KeyRow {
  return { ...row, models: json(row.models), limits: json(row.limits), budget: json(row.budget), metadata: json(row.metadata) };
}

/**
 * Virtual API keys: those declared in the config and those created through the admin API,
 * stored hashed (SHA-256) in the database. Lookups are by hash, cached for `cacheTtlMs` so a
 * revocation reaches every instance within that time.
 *
 * When the database cannot be read (issue 15), a key looked up before keeps working from its
 * last answer (a revocation then waits for the database to return), a key never seen is
 * refused with 503 SLUICE_ERR_DATABASE_UNAVAILABLE (not 401: it may well be valid), and the
 * admin operations answer the same code.
 */
export class KeyRegistry {
  readonly #config = new Map<string, ConfigKey>();
  /** One principal per config key, built once: admission keeps per-principal state by identity. */
  readonly #configPrincipals = new Map<string, Principal>();
  readonly #db: Database | null;
  readonly #clock: Clock;
  readonly #cache: LRUCache<string, Entry>;
  readonly #ttlMs: number;

  constructor(configKeys: readonly ConfigKey[], db: Database | null, clock: Clock, cacheTtlMs: number) {
    for (const k of configKeys) {
      this.#config.set(k.hash, k);
      this.#configPrincipals.set(
        k.hash,
        Object.freeze({ id: `key:${k.id}`, kind: 'key', keyId: k.id, keyName: k.name, user: k.user, tier: k.tier, models: k.models, limits: k.limits, budget: k.budget }),
      );
    }
    this.#db = db;
    this.#clock = clock;
    // No LRU ttl: an expired entry is still the answer to give while the database is away.
    this.#cache = new LRUCache({ max: 50_000 });
    this.#ttlMs = Math.max(1, cacheTtlMs);
  }

  /** The principal for a presented key, or null when it is unknown, revoked or expired. */
  async lookup(presented: string): Promise<Principal | null> {
    const hash = hashSecret(presented);
    // The map is keyed by the hash itself, so a hit is an exact match (comparing the two again
    // in constant time was 0.8% of a keyed request's CPU and could never fail).
    const fromConfig = this.#config.get(hash);
    if (fromConfig !== undefined) {
      if (fromConfig.expiresAt !== null && fromConfig.expiresAt <= this.#clock.now()) return null;
      return this.#configPrincipals.get(hash)!;
    }
    if (this.#db === null) return null;
    let entry = this.#cache.get(hash);
    if (entry === undefined || this.#clock.monotonic() >= entry.freshUntil) entry = await this.#refresh(hash, entry);
    const cached = entry.value;
    if (cached === null) return null;
    if (cached.expiresAt !== null && cached.expiresAt <= this.#clock.now()) return null;
    return cached.principal;
  }

  /** Reads the key again; while the database fails, the last answer stands, if there is one. */
  async #refresh(hash: string, stale: Entry | undefined): Promise<Entry> {
    let value: Cached;
    try {
      value = await this.#load(hash);
    } catch (err) {
      if (stale === undefined) throw unavailable(err, 'API keys cannot be checked right now (database unreachable).');
      // Not on every request: a database that hangs would hold each one for its timeout.
      stale.freshUntil = this.#clock.monotonic() + Math.min(this.#ttlMs, OUTAGE_RETRY_MS);
      return stale;
    }
    const entry: Entry = { value, freshUntil: this.#clock.monotonic() + this.#ttlMs };
    this.#cache.set(hash, entry);
    return entry;
  }

  async #load(hash: string): Promise<Cached> {
    const rows = await this.#db!.query<KeyRow>('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hash]);
    if (rows[0] === undefined || !digestEquals(rows[0].key_hash, hash)) return null;
    const row = decode(rows[0]);
    return {
      principal: {
        id: `key:${row.id}`, kind: 'key', keyId: row.id, keyName: row.name, user: row.user_id, tier: row.tier, models: row.models,
        limits: compileLimits(row.limits ?? undefined), budget: compileBudget(row.budget ?? undefined),
      },
      expiresAt: row.expires_at === null ? null : new Date(row.expires_at).getTime(),
    };
  }

  #nowIso(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  /** A statement of the admin operations; a database failure becomes SLUICE_ERR_DATABASE_UNAVAILABLE. */
  async #admin<T extends Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (this.#db === null) throw new Error('keys can only be created with a database');
    try {
      return await this.#db.query<T>(sql, params);
    } catch (err) {
      throw unavailable(err, 'The keys cannot be read or changed right now (database unreachable).');
    }
  }

  /** Creates a key; its value is returned once and never stored. */
  async create(k: NewKey): Promise<{ key: string; info: KeyInfo }> {
    const key = generateKey();
    const id = randomUUID();
    // Times are given, not the database's now(): ISO text, the same in both databases.
    // expires_at is normalised so SQLite's text sorts and compares as time.
    const expiresAt = k.expiresAt === undefined ? null : new Date(k.expiresAt).toISOString();
    const rows = await this.#admin<KeyRow>(
      `INSERT INTO api_keys (id, name, key_hash, key_prefix, user_id, tier, models, limits, budget, metadata, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
      [id, k.name, hashSecret(key), keyPrefix(key), k.user ?? null, k.tier ?? 'default', k.models ?? null, k.limits ?? null, k.budget ?? null, k.metadata ?? {}, expiresAt, this.#nowIso()],
    );
    return { key, info: toInfo(rows[0]!) };
  }

  async list(): Promise<KeyInfo[]> {
    const fromDb = this.#db === null ? [] : (await this.#admin<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')).map((r) => toInfo(r));
    const fromConfig: KeyInfo[] = [...this.#config.values()].map((k) => ({
      id: k.id, name: k.name, prefix: k.prefix, user: k.user, tier: k.tier, models: k.models, limits: null, budget: null, metadata: {},
      expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(), createdAt: new Date(0).toISOString(), revokedAt: null, source: 'config',
    }));
    return [...fromConfig, ...fromDb];
  }

  /** Replaces a key's value, keeping its id and settings; the old value stops working. */
  async rotate(id: string): Promise<{ key: string; info: KeyInfo } | null> {
    const key = generateKey();
    const rows = await this.#admin<KeyRow>('UPDATE api_keys SET key_hash = $2, key_prefix = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING *', [id, hashSecret(key), keyPrefix(key)]);
    this.#cache.clear();
    return rows[0] === undefined ? null : { key, info: toInfo(rows[0]) };
  }

  async revoke(id: string): Promise<KeyInfo | null> {
    const rows = await this.#admin<KeyRow>('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *', [id, this.#nowIso()]);
    this.#cache.clear();
    return rows[0] === undefined ? null : toInfo(rows[0]);
  }
}

function unavailable(err: unknown, message: string): SluiceError {
  return isSluiceError(err) ? err : new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message, cause: err });
}

function toInfo(stored: KeyRow): KeyInfo {
  const row = decode(stored);
  return {
    id: row.id, name: row.name, prefix: row.key_prefix, user: row.user_id, tier: row.tier, models: row.models, limits: row.limits, budget: row.budget,
    metadata: row.metadata, expiresAt: iso(row.expires_at), createdAt: iso(row.created_at)!, revokedAt: iso(row.revoked_at), source: 'database',
  };
}
