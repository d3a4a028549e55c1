/**
 * The console's one way to the admin API. A signed-in admin token is kept in sessionStorage
 * (this tab only, gone when it closes), sent as a bearer header, never put in a URL. An OIDC
 * sign-in is a cookie session instead: the browser sends the cookie, and changes carry the
 * session's CSRF token in a header.
 */
const TOKEN_KEY = 'sluice.adminToken';

export type Role = 'viewer' | 'keys' | 'admin';

export interface Me {
  readonly name: string;
  readonly role: Role;
  readonly via: 'token' | 'oidc';
  /** For a cookie session: sent back as `x-sluice-csrf` on every change. */
  readonly csrf?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let me: Me | null = null;

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forget(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
}

export function current(): Me | null {
  return me;
}

/** What the role may do, as the API decides it (control/admin.ts `permits`). */
export function may(action: 'keys' | 'admin'): boolean {
  if (me === null) return false;
  return action === 'keys' ? me.role === 'keys' || me.role === 'admin' : me.role === 'admin';
}

/** Signs in with a token (checked by GET /admin/me), or finds an existing cookie session when `token` is null. */
export async function signIn(token: string | null): Promise<Me> {
  if (token !== null) sessionStorage.setItem(TOKEN_KEY, token);
  try {
    me = await request<Me>('GET', '/admin/me');
    return me;
  } catch (err) {
    if (token !== null) sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
}

export async function signOut(): Promise<void> {
  const wasCookie = me?.via === 'oidc';
  if (wasCookie) await fetch('/console/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-sluice-csrf': me?.csrf ?? '' } }).catch(() => undefined);
  forget();
}

function headers(method: string, json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  const token = storedToken();
  if (token !== null) h.authorization = `Bearer ${token}`;
  else if (method !== 'GET' && me?.csrf !== undefined) h['x-sluice-csrf'] = me.csrf;
  if (json) h['content-type'] = 'application/json';
  return h;
}

async function fail(res: Response): Promise<never> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: the status says enough.
  }
  throw new ApiError(res.status, code, message);
}

export async function request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, { method, headers: headers(method, body !== undefined), credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/** A GET answered as a file (CSV), for a download link the browser cannot make with a bearer header. */
export async function download(path: string): Promise<Blob> {
  const res = await fetch(path, { headers: headers('GET', false), credentials: 'same-origin' });
  if (!res.ok) return fail(res);
  return res.blob();
}

/** Whether the gateway offers OIDC sign-in (public: the sign-in page asks before anyone is signed in). */
export async function oidcEnabled(): Promise<boolean> {
  try {
    const res = await fetch('/console/auth', { credentials: 'same-origin' });
    if (!res.ok) return false;
    return ((await res.json()) as { oidc?: boolean }).oidc === true;
  } catch {
    return false;
  }
}
