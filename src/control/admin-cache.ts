import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../edge/edge.js';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import type { PurgeFilter } from '../policies/cache/key.js';
import type { ResponseStore } from '../policies/cache/store.js';

const purgeSchema = z
  .strictObject({
    namespace: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    tier: z.string().min(1).optional(),
    jwtSubject: z.string().min(1).optional(),
    shared: z.literal(true).optional(),
    version: z.number().int().min(0).optional(),
  })
  .refine((v) => [v.key, v.user, v.tier, v.jwtSubject, v.shared].filter((x) => x !== undefined).length <= 1, { message: 'name at most one of key, user, tier, jwtSubject, shared' })
  .refine((v) => v.version === undefined || v.namespace !== undefined, { message: 'version needs a namespace', path: ['version'] });

/** The tenant part of a cache key for a purge request (see CacheStage.scope). */
function tenantOf(v: z.output<typeof purgeSchema>): string | undefined {
  if (v.key !== undefined) return `key:${v.key}`;
  if (v.jwtSubject !== undefined) return `jwt:${v.jwtSubject}`;
  if (v.user !== undefined) return `user:${v.user}`;
  if (v.tier !== undefined) return `tier:${v.tier}`;
  return v.shared === true ? 'shared' : undefined;
}

/**
 * `/admin/cache` (registered inside the admin API, behind its token check): what the
 * response cache holds, and purges by namespace (a route's name
 * unless the route sets one), tenant and version. Bumping a route's `cache.version` in the
 * config invalidates it without any purge.
 */
export function registerCacheAdmin(admin: FastifyInstance, current: () => ResponseStore | null): void {
  // Without a cache in the running config, both answer the catalog's 404 (as an unknown path).
  const storeFor = (request: FastifyRequest): ResponseStore => {
    const store = current();
    if (store === null) throw notFound(request.method, request.url.split('?')[0] ?? '');
    return store;
  };
  admin.get('/cache', async (request) => {
    const store = storeFor(request);
    return { backend: store.kind, ...store.stats() };
  });

  admin.post('/cache/purge', async (request) => {
    const store = storeFor(request);
    const parsed = purgeSchema.safeParse(request.body ?? {}, { reportInput: true });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = formatPath(issue.path);
      throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid purge: ${param === '' ? '' : `"${param}" `}${describeIssue(issue)}.`, ...(param === '' ? {} : { param }) });
    }
    const v = parsed.data;
    const tenant = tenantOf(v);
    const filter: PurgeFilter = { ...(v.namespace === undefined ? {} : { namespace: v.namespace }), ...(tenant === undefined ? {} : { tenant }), ...(v.version === undefined ? {} : { version: v.version }) };
    try {
      return { purged: await store.purge(filter) };
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_CACHE_UNAVAILABLE', { message: `The cache could not be purged: ${(err as Error).message}` });
    }
  });
}
