import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { digestEquals, hashSecret } from '../lib/hash.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import { presentedCredential } from '../policies/identify/identifier.js';
import type { KeyRegistry } from '../policies/identify/keys.js';
import { sendError } from './fastify-errors.js';
import { registerCacheAdmin } from './admin-cache.js';
import type { ResponseStore } from '../policies/cache/store.js';
import type { Reader } from '../db/replicas.js';
import { registerUsageApi } from './admin-usage.js';
import { MAX_JSON_DEPTH, findUnstorable, valueTooDeep } from '../lib/text.js';

const limits = z.strictObject({
  rps: z.number().int().min(1).optional(),
  rpm: z.number().int().min(1).optional(),
  rpd: z.number().int().min(1).optional(),
  tpm: z.number().int().min(1).optional(),
  tpd: z.number().int().min(1).optional(),
  concurrent: z.number().int().min(1).optional(),
  burst: z.number().gt(0).max(100).optional(),
});

const newKeySchema = z.strictObject({
  name: z.string().min(1).max(200),
  tier: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  limits: limits.optional(),
  budget: z.strictObject({ daily: z.number().min(0).optional(), monthly: z.number().min(0).optional(), alertAt: z.number().gt(0).max(1).default(0.8) }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

/**
 * The admin API under /admin: virtual keys created, listed, rotated and revoked, and the
 * usage API (admin-usage.ts) when usage is recorded, and the cache's (admin-cache.ts) when a
 * route caches. Authorised
 * by admin tokens, which are distinct from client keys and compared as hashes in constant
 * time. A created or rotated key's value is in the answer once and stored only hashed.
 */
export interface AdminDeps {
  readonly tokenHashes: readonly string[];
  readonly keys: KeyRegistry;
  readonly usage: Reader | null;
  readonly cache: ResponseStore | null;
  /** The config's tier names (with `default`): a key created here must name one, as `config check` demands. */
  readonly tiers: ReadonlySet<string>;
}

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  const authorised = (request: FastifyRequest): boolean => {
    const presented = presentedCredential(request.headers);
    if (presented === null) return false;
    const hash = hashSecret(presented);
    let ok = false;
    for (const h of deps.tokenHashes) ok = digestEquals(h, hash) || ok; // every token is compared: no early exit
    return ok;
  };

  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (!authorised(request)) {
          sendError(reply, new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: 'A valid admin token is required.' }));
          return reply;
        }
      });

      // Client input never produces a 5xx: what the database cannot store (NUL, lone
      // surrogates) or what would nest past the bound is refused before any handler runs.
      admin.addHook('preValidation', async (request: FastifyRequest) => {
        const where = findUnstorable(request.params, 'path') ?? findUnstorable(request.query, 'query') ?? findUnstorable(request.body, 'body');
        if (where !== null) {
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${JSON.stringify(where)} contains a NUL character or a lone UTF-16 surrogate.`, param: where });
        }
        if (valueTooDeep(request.body, MAX_JSON_DEPTH)) throw new SluiceError('SLUICE_ERR_JSON_TOO_DEEP');
      });

      if (deps.usage !== null) registerUsageApi(admin, deps.usage);
      if (deps.cache !== null) registerCacheAdmin(admin, deps.cache);

      admin.get('/keys', async () => ({ object: 'list', data: await deps.keys.list() }));

      admin.post('/keys', async (request, reply) => {
        const parsed = newKeySchema.safeParse(request.body ?? {}, { reportInput: true });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const param = formatPath(issue.path);
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid key: "${param}" ${describeIssue(issue)}.`, param });
        }
        const tier = parsed.data.tier;
        if (tier !== undefined && !deps.tiers.has(tier)) {
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid key: "tier" names unknown tier ${JSON.stringify(tier)} (known: ${[...deps.tiers].join(', ')}).`, param: 'tier' });
        }
        const existing = await deps.keys.list();
        if (existing.some((k) => k.name === parsed.data.name && k.revokedAt === null)) {
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid key: "name" ${JSON.stringify(parsed.data.name)} is already the name of a key.`, param: 'name' });
        }
        const created = await deps.keys.create(parsed.data);
        reply.code(201);
        return { ...created.info, key: created.key };
      });

      admin.post<{ Params: { id: string } }>('/keys/:id/rotate', async (request) => {
        await refuseConfigKey(deps.keys, request.params.id, 'rotated');
        const rotated = await deps.keys.rotate(request.params.id);
        if (rotated === null) throw new SluiceError('SLUICE_ERR_KEY_NOT_FOUND');
        return { ...rotated.info, key: rotated.key };
      });

      admin.delete<{ Params: { id: string } }>('/keys/:id', async (request) => {
        await refuseConfigKey(deps.keys, request.params.id, 'revoked');
        const revoked = await deps.keys.revoke(request.params.id);
        if (revoked === null) throw new SluiceError('SLUICE_ERR_KEY_NOT_FOUND');
        return revoked;
      });
    },
    { prefix: '/admin' },
  );
}

/** `keys list` shows config keys, so rotating or revoking one must say why it cannot, not 404. */
async function refuseConfigKey(keys: KeyRegistry, id: string, verb: string): Promise<void> {
  const key = (await keys.list()).find((k) => k.id === id && k.source === 'config');
  if (key !== undefined) {
    throw new SluiceError('SLUICE_ERR_CONFIG_KEY', { message: `Key ${JSON.stringify(key.name)} is declared in the config file and cannot be ${verb} here; change it in the config file.` });
  }
}
