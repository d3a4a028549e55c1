import { createLocalJWKSet, createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyObject } from 'jose';
import type { JwtRuntime } from '../../config/compile.js';
import { SluiceError } from '../../errors.js';
import type { Principal } from '../../exchange/principal.js';
import type { SessionRevocations } from './sessions.js';

type KeySource = Uint8Array | KeyObject | JWTVerifyGetKey;

/**
 * Verifies JWT bearer tokens with jose: signature against the configured secret, public key
 * or JWKS (fetched and cached, refreshed on an unknown `kid`), the allowed algorithms only
 * (never `none`, never HS* against a public key), expiry and not-before with bounded clock
 * skew, issuer and audience; then, with `revocation`, checks the session and the user
 * against revocations in the state store (sessions.ts); then maps claims to a user and a tier.
 */
export class JwtVerifier {
  readonly #config: JwtRuntime;
  readonly #revocations: SessionRevocations | null;
  #key: Promise<KeySource> | null = null;

  constructor(config: JwtRuntime, revocations: SessionRevocations | null = null) {
    this.#config = config;
    this.#revocations = revocations;
  }

  #keySource(): Promise<KeySource> {
    this.#key ??= (async (): Promise<KeySource> => {
      const c = this.#config;
      if (c.secret !== null) return new TextEncoder().encode(c.secret.reveal());
      if (c.publicKey !== null) {
        const pem = c.publicKey.trim();
        if (pem.startsWith('{')) return createLocalJWKSet({ keys: [JSON.parse(pem) as Record<string, unknown>] });
        return importSPKI(pem, c.algorithms[0] ?? 'RS256');
      }
      return createRemoteJWKSet(new URL(c.jwksUrl!), { cacheMaxAge: c.jwksCacheMaxAgeMs, cooldownDuration: 30_000, timeoutDuration: 5_000 });
    })();
    return this.#key;
  }

  async verify(token: string, tiers: ReadonlySet<string>): Promise<Principal> {
    const c = this.#config;
    let payload: JWTPayload;
    try {
      const key = await this.#keySource();
      const options = {
        algorithms: [...c.algorithms],
        clockTolerance: Math.round(c.clockSkewMs / 1000),
        ...(c.issuer === null ? {} : { issuer: c.issuer }),
        ...(c.audience === null ? {} : { audience: c.audience }),
        ...(c.maxAgeMs === null ? {} : { maxTokenAge: `${Math.round(c.maxAgeMs / 1000)}s` }),
        // A token without `exp` would otherwise be valid forever (issue 15).
        ...(c.requireExp ? { requiredClaims: ['exp'] } : {}),
      };
      // jose's overloads differ for keys and key getters; both are called the same way.
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: `Invalid bearer token: ${describeJoseError(err)}.` });
    }
    const user = claim(payload, c.userClaim);
    if (user === null) throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: `Invalid bearer token: the "${c.userClaim}" claim is missing.` });
    if (this.#revocations !== null) {
      const session = claim(payload, c.sessionClaim) ?? claim(payload, 'jti');
      await this.#revocations.check(session, user, typeof payload.iat === 'number' ? payload.iat : null);
    }
    const tierClaim = claim(payload, c.tierClaim);
    const tier = tierClaim !== null && tiers.has(tierClaim) ? tierClaim : 'default';
    return { id: `jwt:${user}`, kind: 'jwt', keyId: null, keyName: null, user, tier, models: null, limits: null, budget: null };
  }
}

function claim(payload: JWTPayload, name: string): string | null {
  const v = payload[name];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim "${err.claim}" failed (${err.reason})`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key matches its "kid"';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'it is malformed';
  if (err instanceof errors.JOSENotSupported) return 'its algorithm is not supported';
  return 'it could not be verified';
}
