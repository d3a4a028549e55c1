import { z } from 'zod';
import { Secret } from '../lib/secret.js';
import { duration } from './fields.js';

/** The path the console's OIDC callback is served at: `redirectUrl` must point here. */
export const OIDC_CALLBACK_PATH = '/console/callback';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const role = z.enum(['viewer', 'keys', 'admin']);

/**
 * `admin.oidc` (issue 20): sign-in to the web console through an OpenID Connect provider, the
 * gateway as relying party (authorization code with PKCE, state and nonce). The role comes
 * from one claim of the signed-in account, mapped by `roles`; an account whose claim maps to
 * no role is refused.
 */
export const oidcSchema = z
  .strictObject({
    issuer: z.url(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    redirectUrl: z.url(),
    scopes: z.array(z.string().min(1)).min(1).default(['openid', 'email', 'profile']),
    roleClaim: z.string().min(1).default('groups'),
    roles: z.record(z.string().min(1), role).refine((r) => Object.keys(r).length > 0, 'must map at least one claim value to a role'),
    sessionTtl: duration.default(8 * 3_600_000),
    /** Tests only: lets the issuer be plain http on a loopback address. */
    insecureLoopbackIssuer: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    if (!o.scopes.includes('openid')) ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'must include "openid"' });
    const issuer = new URL(o.issuer);
    if (issuer.protocol !== 'https:' && !(o.insecureLoopbackIssuer && issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname))) {
      ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'must be an https URL (plain http only on a loopback address with insecureLoopbackIssuer, for tests)' });
    }
    const redirect = new URL(o.redirectUrl);
    if (redirect.pathname !== OIDC_CALLBACK_PATH) ctx.addIssue({ code: 'custom', path: ['redirectUrl'], message: `must end in ${OIDC_CALLBACK_PATH}, where the gateway answers the provider` });
    if (redirect.protocol !== 'https:' && !LOOPBACK.has(redirect.hostname)) ctx.addIssue({ code: 'custom', path: ['redirectUrl'], message: 'must be an https URL (plain http only on a loopback address)' });
    if (o.sessionTtl < 60_000) ctx.addIssue({ code: 'custom', path: ['sessionTtl'], message: 'must be at least 1m' });
  });

export type OidcConfig = z.output<typeof oidcSchema>;
export type OidcRole = z.output<typeof role>;

export interface OidcRuntime {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly redirectUrl: string;
  readonly scopes: readonly string[];
  /** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
  readonly roleClaim: string;
  readonly roles: Readonly<Record<string, OidcRole>>;
  readonly sessionTtlMs: number;
  /** The session cookie is `Secure` when the redirect URL is https. */
  readonly secureCookie: boolean;
  readonly insecureLoopbackIssuer: boolean;
}

export function compileOidc(o: OidcConfig | undefined): OidcRuntime | null {
  if (o === undefined) return null;
  return {
    issuer: o.issuer,
    clientId: o.clientId,
    clientSecret: new Secret(o.clientSecret),
    redirectUrl: o.redirectUrl,
    scopes: o.scopes,
    roleClaim: o.roleClaim,
    roles: o.roles,
    sessionTtlMs: o.sessionTtl,
    secureCookie: new URL(o.redirectUrl).protocol === 'https:',
    insecureLoopbackIssuer: o.insecureLoopbackIssuer,
  };
}
