import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { digestEquals, hashSecret } from '../lib/hash.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import { presentedCredential } from '../policies/identify/identifier.js';
import type { KeyRegistry } from '../policies/identify/keys.js';
import { sendError } from './fastify-errors.js';
import { notFound } from '../edge/edge.js';
import { registerCacheAdmin } from './admin-cache.js';
import type { ResponseStore } from '../policies/cache/store.js';
import type { Reader } from '../db/replicas.js';
import { registerUsageApi } from './admin-usage.js';
import { MAX_JSON_DEPTH, findUnstorable, valueTooDeep } from '../lib/text.js';
import type { AdminRole, AdminTokenRuntime } from '../config/compile.js';
import { AUDIT_PAGE_MAX, type AuditLog } from './audit.js';
import type { SessionRevocations } from '../policies/identify/sessions.js';
import type { ReloadOutcome } from '../gateway/reload.js';
import type { AdminSources } from './admin-sources.js';
import { registerTrafficAdmin } from './admin-traffic.js';
import { registerTargetsAdmin } from './admin-targets.js';
import { registerQueuesAdmin } from './admin-queues.js';
import { registerLimitsAdmin } from './admin-limits.js';
import { registerConfigAdmin } from './admin-config.js';
import { ConsoleSignIn } from './oidc.js';
import type { AdminActor } from './admin-session.js';
import { registerJwtSessionsAdmin } from './admin-jwt-sessions.js';

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

/** One session (the token's `sid`, or `jti`) or every session of a user ("sign out everywhere"). */
const revokeSchema = z
  .strictObject({ session: z.string().min(1).max(1_000).optional(), user: z.string().min(1).max(1_000).optional() })
  .refine((v) => (v.session === undefined) !== (v.user === undefined), { message: 'name exactly one of session, user' });

const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
  before: z.string().min(1).max(100).optional(),
});

/**
 * The admin API under /admin: virtual keys created, listed, rotated and revoked, and the
 * usage API (admin-usage.ts) when usage is recorded, and the cache's (admin-cache.ts) when a
 * route caches. Authorised by admin tokens, which are distinct from client keys and compared
 * as hashes in constant time; each token has a role (viewer, keys, admin: `permits`), and
 * every change is written to the audit log (audit.ts), readable at GET /admin/audit. A
 * created or rotated key's value is in the answer once and stored only hashed.
 */
export interface AdminDeps {
  readonly tokens: readonly AdminTokenRuntime[];
  readonly audit: AuditLog;
  /** JWT session revocations, when `auth.jwt.revocation` is on. */
  readonly sessions: SessionRevocations | null;
  readonly keys: KeyRegistry;
  readonly usage: Reader | null;
  readonly cache: ResponseStore | null;
  /** The config's tier names (with `default`): a key created here must name one, as `config check` demands. */
  readonly tiers: ReadonlySet<string>;
  /** Reloads the config from its source (issue 20); resolves with the outcome, never rejects. */
  readonly reload: () => Promise<ReloadOutcome>;
  /** What the console's read endpoints read of the running gateway (traffic, targets, queues, limits, config). */
  readonly sources: AdminSources;
  /** Console sessions from an OIDC sign-in (`admin.oidc`), accepted beside tokens; null without. */
  readonly signIn: ConsoleSignIn | null;
}

/**
 * What a role may do: every role reads (GET, HEAD); `keys` also creates, rotates and revokes
 * virtual keys; `admin` does everything (cache purges, and whatever later routes change).
 */
export function permits(role: AdminRole, method: string, route: string): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  if (role === 'admin') return true;
  return role === 'keys' && (route === '/admin/keys' || route.startsWith('/admin/keys/') || route.startsWith('/admin/sessions/'));
}

export function registerAdminApi(app: FastifyInstance, deps: AdminDeps): void {
  /** The token presented, or null; every token is compared, with no early exit. */
  const tokenOf = (request: FastifyRequest): AdminTokenRuntime | null => {
    const presented = presentedCredential(request.headers);
    if (presented === null) return null;
    const hash = hashSecret(presented);
    let found: AdminTokenRuntime | null = null;
    for (const t of deps.tokens) if (digestEquals(t.hash, hash) && found === null) found = t;
    return found;
  };
  /** The admin token presented, else the console session's cookie (OIDC sign-in), else null. */
  const actorOf = (request: FastifyRequest): AdminActor | null => {
    const token = tokenOf(request);
    if (token !== null) return { name: token.name, role: token.role, via: 'token', csrf: null };
    return deps.signIn?.actorOf(request) ?? null;
  };
  /** Who made each request, for the audit hook. */
  const actors = new WeakMap<FastifyRequest, AdminActor>();

  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        const token = actorOf(request);
        if (token === null) {
          sendError(reply, new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: 'A valid admin token is required.' }));
          return reply;
        }
        actors.set(request, token);
        const route = request.routeOptions.url ?? request.url;
        if (!permits(token.role, request.method, route)) {
          const who = token.via === 'token' ? `The admin token "${token.name}"` : `The console session of ${JSON.stringify(token.name)}`;
          sendError(reply, new SluiceError('SLUICE_ERR_ADMIN_FORBIDDEN', { message: `${who} has the role ${token.role}, which may not ${request.method} ${route}.` }));
          return reply;
        }
        // A cookie is sent by the browser whoever asks it to: a change must also prove it comes from the console.
        if (request.method !== 'GET' && request.method !== 'HEAD' && !ConsoleSignIn.csrfHolds(request, token)) {
          sendError(reply, new SluiceError('SLUICE_ERR_ADMIN_CSRF'));
          return reply;
        }
      });

      // Every change by a known caller is written before its answer goes out, refusals included.
      // When the database cannot take the entry (it is down: the change itself most likely
      // failed too), the answer goes out unchanged and the entry is logged at error level.
      admin.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        const token = actors.get(request);
        if (token === undefined || request.method === 'GET' || request.method === 'HEAD') return payload;
        const params = request.params as Record<string, unknown> | undefined;
        const entry = {
          actor: token.name,
          role: token.role,
          method: request.method,
          action: request.routeOptions.url ?? request.url.split('?', 1)[0]!,
          target: typeof params?.id === 'string' ? params.id : null,
          status: reply.statusCode,
          ip: request.ip,
          requestId: request.id,
          detail: auditDetail(request.body),
        };
        try {
          await deps.audit.write(entry);
        } catch (err) {
          request.log.error({ err, audit: entry }, 'the admin audit entry could not be written');
        }
        return payload;
      });

      // Who is signed in, for the console to show only what the role may do.
      admin.get('/me', async (request) => {
        const token = actors.get(request)!;
        return { object: 'admin', name: token.name, role: token.role, via: token.via, ...(token.csrf === null ? {} : { csrf: token.csrf }) };
      });

      admin.get('/audit', async (request) => {
        const parsed = auditQuery.safeParse(request.query ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const param = `query.${formatPath(issue.path)}`;
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid audit query: "${param}" ${describeIssue(issue)}.`, param });
        }
        // One more than asked tells whether there is a next page.
        const rows = await deps.audit.list(parsed.data.limit + 1, parsed.data.before ?? null);
        const data = rows.slice(0, parsed.data.limit);
        return { object: 'list', data, has_more: rows.length > parsed.data.limit, last_id: data.at(-1)?.id ?? null };
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
      // Registered whatever the config: a reload may turn the cache or revocation on or off,
      // and while one is off its routes answer the catalog's 404 as unknown paths do.
      registerCacheAdmin(admin, () => deps.cache);
      registerTrafficAdmin(admin, deps.sources.traffic);
      registerTargetsAdmin(admin, deps.sources);
      registerQueuesAdmin(admin, deps.sources);
      registerLimitsAdmin(admin, { sources: deps.sources, keys: deps.keys, usage: deps.usage });
      registerConfigAdmin(admin, deps.sources);
      registerJwtSessionsAdmin(admin, deps.sources);

      admin.post('/config/reload', async (_request, reply) => {
        const outcome = await deps.reload();
        if (!outcome.ok) throw new SluiceError('SLUICE_ERR_RELOAD_REFUSED', { message: `The config was not reloaded; version ${outcome.version} keeps serving: ${outcome.error ?? 'unknown reason'}` });
        reply.code(200);
        return outcome;
      });

      admin.post('/sessions/revoke', async (request) => {
        const sessions = deps.sessions;
        if (sessions === null) throw notFound(request.method, request.url.split('?')[0] ?? '');
        const parsed = revokeSchema.safeParse(request.body ?? {}, { reportInput: true });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const param = formatPath(issue.path);
          throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid revocation: ${param === '' ? '' : `"${param}" `}${describeIssue(issue)}.`, ...(param === '' ? {} : { param }) });
        }
        const { session, user } = parsed.data;
        if (session !== undefined) await sessions.revokeSession(session);
        else await sessions.revokeUser(user!);
        return { revoked: session !== undefined ? 'session' : 'user' };
      });

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

/** A request body as the audit log keeps it: JSON text, or a note when it is too deep to walk. */
function auditDetail(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (valueTooDeep(body, MAX_JSON_DEPTH)) return '"(not recorded: nested too deep)"';
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** `keys list` shows config keys, so rotating or revoking one must say why it cannot, not 404. */
async function refuseConfigKey(keys: KeyRegistry, id: string, verb: string): Promise<void> {
  const key = (await keys.list()).find((k) => k.id === id && k.source === 'config');
  if (key !== undefined) {
    throw new SluiceError('SLUICE_ERR_CONFIG_KEY', { message: `Key ${JSON.stringify(key.name)} is declared in the config file and cannot be ${verb} here; change it in the config file.` });
  }
}
