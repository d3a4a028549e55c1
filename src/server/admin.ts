import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { digestEquals, hashSecret } from '../lib/hash.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import { presentedCredential } from '../policies/identify/identifier.js';
import type { KeyRegistry } from '../policies/identify/keys.js';
import { sendError } from './respond.js';
import { registerCacheAdmin } from './admin-cache.js';
import type { ResponseStore } from '../policies/cache/store.js';
import type { Reader } from '../db/replicas.js';
import { registerUsageApi } from './admin-usage.js';

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
export function registerAdminApi(app: FastifyInstance, deps: { tokenHashes: readonly string[]; keys: KeyRegistry; usage: Reader | null; cache: ResponseStore | null }): void {
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
        const created = await deps.keys.create(parsed.data);
        reply.code(201);
        return { ...created.info, key: created.key };
      });

      admin.post<{ Params: { id: string } }>('/keys/:id/rotate', async (request) => {
        const rotated = await deps.keys.rotate(request.params.id);
        if (rotated === null) throw new SluiceError('SLUICE_ERR_KEY_NOT_FOUND');
        return { ...rotated.info, key: rotated.key };
      });

      admin.delete<{ Params: { id: string } }>('/keys/:id', async (request) => {
        const revoked = await deps.keys.revoke(request.params.id);
        if (revoked === null) throw new SluiceError('SLUICE_ERR_KEY_NOT_FOUND');
        return revoked;
      });
    },
    { prefix: '/admin' },
  );
}
