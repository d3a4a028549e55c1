import type { FastifyInstance } from 'fastify';
import type { AdminSources } from './admin-sources.js';

/**
 * `GET /admin/sessions` (issue 22): whether JWT session revocation is on in the running config,
 * and which claims name a token's user and session, so the console can offer (or explain the
 * absence of) its revoke form. The revocation itself is `POST /admin/sessions/revoke`
 * (admin.ts). Registered whatever the config: a reload may turn revocation on or off.
 */
export function registerJwtSessionsAdmin(admin: FastifyInstance, sources: AdminSources): void {
  admin.get('/sessions', async () => {
    const jwt = sources.config().auth.jwt;
    const on = jwt !== null && jwt.revocation;
    return {
      object: 'sessions',
      jwt: jwt !== null,
      revocation: on,
      userClaim: jwt === null ? null : jwt.userClaim,
      sessionClaim: jwt === null ? null : jwt.sessionClaim,
      revocationTtlSeconds: on ? Math.round(jwt.revocationTtlMs / 1000) : null,
    };
  });
}
