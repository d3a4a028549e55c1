import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { AdminRole } from '../config/compile.js';
import type { OidcRuntime } from '../config/oidc.js';
import { SluiceError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { CSRF_HEADER, CookieSigner, LOGIN_COOKIE, SESSION_COOKIE, cookieOf, randomToken, sameText, setCookie, type AdminActor, type SessionClaims } from './admin-session.js';

/** How long a started sign-in may take at the provider. */
const LOGIN_TTL_MS = 10 * 60_000;
/** How long a call to the provider (discovery, token, userinfo) may take. */
const PROVIDER_TIMEOUT_S = 10;
const RANK: Readonly<Record<AdminRole, number>> = { viewer: 1, keys: 2, admin: 3 };

interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly exp: number;
}

function isLogin(v: unknown): v is LoginState {
  const o = v as Partial<LoginState> | null;
  return typeof o === 'object' && o !== null && typeof o.state === 'string' && typeof o.nonce === 'string' && typeof o.verifier === 'string' && typeof o.exp === 'number';
}

function isSession(v: unknown): v is SessionClaims {
  const o = v as Partial<SessionClaims> | null;
  return typeof o === 'object' && o !== null && typeof o.sub === 'string' && typeof o.name === 'string' && typeof o.csrf === 'string' && typeof o.exp === 'number' && (o.role === 'viewer' || o.role === 'keys' || o.role === 'admin');
}

/** The values of a claim (a dotted path into nested claims), as strings. */
function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let v: unknown = claims;
  for (const part of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Console sign-in through OpenID Connect (issue 20), the gateway as relying party with
 * openid-client: `/console/login` sends the browser to the provider with PKCE, state and
 * nonce (kept in a signed, HttpOnly cookie for the round trip); `/console/callback` redeems
 * the code, verifies the ID token, maps the role claim to an admin role and sets the session
 * cookie (signed, HttpOnly, SameSite=Strict, Secure for an https redirect URL) that the admin
 * API accepts beside bearer tokens. Changes with a session need its CSRF token in
 * `x-sluice-csrf`. The provider's metadata is discovered on first use and kept.
 */
export class ConsoleSignIn {
  readonly #oidc: OidcRuntime;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #sessions: CookieSigner;
  readonly #logins: CookieSigner;
  #discovered: Promise<client.Configuration> | null = null;

  constructor(oidc: OidcRuntime, clock: Clock, logger: Logger) {
    this.#oidc = oidc;
    this.#clock = clock;
    this.#logger = logger;
    const secret = oidc.clientSecret.reveal();
    this.#sessions = new CookieSigner(secret, 'session');
    this.#logins = new CookieSigner(secret, 'login');
  }

  /** The session a request's cookie carries, when valid and unexpired. */
  actorOf(request: FastifyRequest): AdminActor | null {
    const raw = cookieOf(request.headers, SESSION_COOKIE);
    if (raw === null) return null;
    const claims = this.#sessions.verify(raw);
    if (!isSession(claims) || claims.exp <= this.#clock.now()) return null;
    return { name: claims.name, role: claims.role, via: 'oidc', csrf: claims.csrf };
  }

  /** Whether a change made with a session carries that session's CSRF token. */
  static csrfHolds(request: FastifyRequest, actor: AdminActor): boolean {
    if (actor.via !== 'oidc' || actor.csrf === null) return true;
    const sent = request.headers[CSRF_HEADER];
    return typeof sent === 'string' && sameText(sent, actor.csrf);
  }

  #cookie(name: string, value: string, maxAgeMs: number, path: string, sameSite: 'Strict' | 'Lax'): string {
    return setCookie(name, value, { path, maxAgeS: Math.floor(maxAgeMs / 1000), sameSite, secure: this.#oidc.secureCookie });
  }

  async #configuration(): Promise<client.Configuration> {
    if (this.#discovered === null) {
      const o = this.#oidc;
      this.#discovered = client.discovery(new URL(o.issuer), o.clientId, o.clientSecret.reveal(), undefined, {
        timeout: PROVIDER_TIMEOUT_S,
        ...(o.insecureLoopbackIssuer ? { execute: [client.allowInsecureRequests] } : {}),
      });
      // A failed discovery is tried again by the next sign-in.
      this.#discovered.catch(() => {
        this.#discovered = null;
      });
    }
    try {
      return await this.#discovered;
    } catch (err) {
      this.#logger.warn({ err, issuer: this.#oidc.issuer }, 'OIDC discovery failed');
      throw new SluiceError('SLUICE_ERR_OIDC_UNAVAILABLE', { message: `The OpenID Connect provider cannot be reached: ${(err as Error).message}` });
    }
  }

  /** GET /console/login: to the provider, with PKCE, state and nonce remembered in a signed cookie. */
  async login(reply: FastifyReply): Promise<FastifyReply> {
    const config = await this.#configuration();
    const login: LoginState = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), exp: this.#clock.now() + LOGIN_TTL_MS };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.#oidc.redirectUrl,
      scope: this.#oidc.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    // Lax: the provider's redirect back is a cross-site navigation, which a Strict cookie would miss.
    reply.header('set-cookie', this.#cookie(LOGIN_COOKIE, this.#logins.sign(login), LOGIN_TTL_MS, '/console/callback', 'Lax'));
    reply.header('cache-control', 'no-store');
    return reply.redirect(url.href, 302);
  }

  /** GET /console/callback: redeems the code, checks the account's role, sets the session. */
  async callback(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const clearLogin = this.#cookie(LOGIN_COOKIE, '', 0, '/console/callback', 'Lax');
    reply.header('cache-control', 'no-store');
    const raw = cookieOf(request.headers, LOGIN_COOKIE);
    const login = raw === null ? null : this.#logins.verify(raw);
    if (!isLogin(login) || login.exp <= this.#clock.now()) {
      throw new SluiceError('SLUICE_ERR_OIDC_SIGNIN', { message: 'The sign-in expired or did not start here; start again at /console/login.', headers: { 'set-cookie': clearLogin } });
    }
    const config = await this.#configuration();
    const current = new URL(this.#oidc.redirectUrl);
    current.search = new URL(request.url, 'http://callback.invalid').search;
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true });
      claims = { ...(tokens.claims() ?? {}) };
      // The role claim may be given only by the userinfo endpoint.
      if (config.serverMetadata().userinfo_endpoint !== undefined) {
        const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
        claims = { ...info, ...claims };
      }
    } catch (err) {
      if (err instanceof TypeError || (err as { code?: string }).code === 'OAUTH_TIMEOUT') {
        throw new SluiceError('SLUICE_ERR_OIDC_UNAVAILABLE', { message: `The OpenID Connect provider cannot be reached: ${(err as Error).message}`, headers: { 'set-cookie': clearLogin } });
      }
      this.#logger.info({ err }, 'OIDC sign-in refused');
      throw new SluiceError('SLUICE_ERR_OIDC_SIGNIN', { message: `The sign-in did not complete: ${(err as Error).message}`, headers: { 'set-cookie': clearLogin } });
    }
    const sub = String(claims.sub);
    const name = typeof claims.email === 'string' && claims.email !== '' ? claims.email : sub;
    let role: AdminRole | null = null;
    for (const v of claimValues(claims, this.#oidc.roleClaim)) {
      const mapped = this.#oidc.roles[v];
      if (mapped !== undefined && (role === null || RANK[mapped] > RANK[role])) role = mapped;
    }
    if (role === null) {
      throw new SluiceError('SLUICE_ERR_OIDC_NO_ROLE', { message: `The account ${JSON.stringify(name)} has no value in its "${this.#oidc.roleClaim}" claim that admin.oidc.roles maps to a role.`, headers: { 'set-cookie': clearLogin } });
    }
    const session: SessionClaims = { sub, name, role, csrf: randomToken(), exp: this.#clock.now() + this.#oidc.sessionTtlMs };
    reply.header('set-cookie', [clearLogin, this.#cookie(SESSION_COOKIE, this.#sessions.sign(session), this.#oidc.sessionTtlMs, '/', 'Strict')]);
    this.#logger.info({ actor: name, role }, 'console sign-in');
    return reply.redirect('/console', 302);
  }

  /** POST /console/logout: the session cookie is deleted (with the session's CSRF header). */
  logout(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const actor = this.actorOf(request);
    if (actor !== null && !ConsoleSignIn.csrfHolds(request, actor)) throw new SluiceError('SLUICE_ERR_ADMIN_CSRF');
    reply.header('set-cookie', this.#cookie(SESSION_COOKIE, '', 0, '/', 'Strict'));
    return reply.code(204).send();
  }
}

/** The sign-in for a config's `admin.oidc`, or null without one. */
export function consoleSignIn(oidc: OidcRuntime | null, clock: Clock, logger: Logger): ConsoleSignIn | null {
  return oidc === null ? null : new ConsoleSignIn(oidc, clock, logger);
}

/** `/console/auth` (public: what the sign-in page offers) and, with OIDC, login, callback and logout. */
export function registerConsoleAuth(app: FastifyInstance, signIn: ConsoleSignIn | null): void {
  app.get('/console/auth', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { oidc: signIn !== null };
  });
  if (signIn === null) return;
  app.get('/console/login', (_request, reply) => signIn.login(reply));
  app.get('/console/callback', (request, reply) => signIn.callback(request, reply));
  app.post('/console/logout', async (request, reply) => signIn.logout(request, reply));
}
