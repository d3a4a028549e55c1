import type { IncomingHttpHeaders } from 'node:http';
import { SluiceError } from '../../errors.js';
import type { JwtVerifier } from './jwt.js';
import type { KeyRegistry } from './keys.js';
import { ANONYMOUS, type Principal } from '../../exchange/principal.js';

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The credential a client presented: `Authorization: Bearer`, `x-api-key` (Anthropic) or `api-key` (Azure). */
export function presentedCredential(headers: IncomingHttpHeaders): string | null {
  const from = credentialHeader(headers);
  if (from === null) return null;
  return from === 'authorization' ? (headers.authorization as string).slice(7).trim() : (headers[from] as string);
}

/** Which header `presentedCredential` reads the credential from, if any. */
export function credentialHeader(headers: IncomingHttpHeaders): 'authorization' | 'x-api-key' | 'api-key' | null {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return 'authorization';
  const x = headers['x-api-key'];
  if (x !== undefined) return typeof x === 'string' && x !== '' ? 'x-api-key' : null;
  const a = headers['api-key'];
  return typeof a === 'string' && a !== '' ? 'api-key' : null;
}

/**
 * Establishes the principal of a request. With `auth.required`, a request needs a valid key
 * or token. Without it, a valid credential still identifies its principal (with its tier and
 * limits), and anything else is served as anonymous: OpenAI SDKs always send some key, so an
 * open gateway must not reject the placeholder.
 */
export class Identifier {
  readonly #required: boolean;
  readonly #keys: KeyRegistry;
  readonly #jwt: JwtVerifier | null;
  readonly #tiers: ReadonlySet<string>;

  constructor(required: boolean, keys: KeyRegistry, jwt: JwtVerifier | null, tiers: ReadonlySet<string>) {
    this.#required = required;
    this.#keys = keys;
    this.#jwt = jwt;
    this.#tiers = tiers;
  }

  /** `required` overrides the gateway's `auth.required` (an HTTP service's `auth.required`). */
  async identify(headers: IncomingHttpHeaders, required: boolean = this.#required): Promise<Principal> {
    const credential = presentedCredential(headers);
    if (credential === null) {
      if (required) throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: 'Missing credential: send "Authorization: Bearer <key or token>".' });
      return ANONYMOUS;
    }
    if (this.#jwt !== null && jwtShape.test(credential)) {
      try {
        return await this.#jwt.verify(credential, this.#tiers);
      } catch (err) {
        if (required) throw err;
        return ANONYMOUS;
      }
    }
    const principal = await this.#keys.lookup(credential);
    if (principal !== null) return principal;
    if (required) throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: 'Invalid API key.' });
    return ANONYMOUS;
  }
}
