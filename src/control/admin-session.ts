import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AdminRole } from '../config/compile.js';

/** Who an admin request is from: an admin token, or a console session from an OIDC sign-in. */
export interface AdminActor {
  /** The audit log's actor: the token's name, or the account's email (its subject without one). */
  readonly name: string;
  readonly role: AdminRole;
  readonly via: 'token' | 'oidc';
  /** A session's CSRF token: changes must send it as `x-sluice-csrf`. Null for tokens. */
  readonly csrf: string | null;
}

/** A console session as its cookie carries it. */
export interface SessionClaims {
  readonly sub: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly csrf: string;
  /** Epoch ms after which the cookie is refused. */
  readonly exp: number;
}

export const SESSION_COOKIE = 'sluice_console';
export const LOGIN_COOKIE = 'sluice_console_login';
export const CSRF_HEADER = 'x-sluice-csrf';

/**
 * Signs and checks small JSON values carried in cookies (the console session, the sign-in's
 * state, nonce and PKCE verifier): `base64url(json).base64url(HMAC-SHA256)`. The key is
 * derived from the OIDC client secret, so every instance sharing the config accepts every
 * other's sessions without any shared store; a session ends when its `exp` passes or the
 * client secret changes. Each purpose has its own derived key, so a sign-in cookie is never
 * accepted as a session.
 */
export class CookieSigner {
  readonly #key: Buffer;

  constructor(secret: string, purpose: string) {
    this.#key = createHmac('sha256', secret).update(`sluice console ${purpose} v1`).digest();
  }

  sign(value: object): string {
    const body = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** The value, or null when the text was not signed here (or was changed). */
  verify(text: string): unknown {
    const dot = text.indexOf('.');
    if (dot <= 0) return null;
    const body = text.slice(0, dot);
    const mac = Buffer.from(text.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.#mac(body), 'base64url');
    if (mac.length !== want.length || !timingSafeEqual(mac, want)) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

/** A random token for CSRF headers, state and the like. */
export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/** One cookie's value from a Cookie header, or null. */
export function cookieOf(headers: IncomingHttpHeaders, name: string): string | null {
  const header = headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A Set-Cookie value; `maxAgeS` 0 deletes the cookie. */
export function setCookie(name: string, value: string, options: { path: string; maxAgeS: number; sameSite: 'Strict' | 'Lax'; secure: boolean }): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAgeS}; HttpOnly; SameSite=${options.sameSite}${options.secure ? '; Secure' : ''}`;
}

/** Compares two strings in time independent of where they differ. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
