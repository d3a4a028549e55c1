/**
 * Hostile and broken requests for the gateway's surfaces (issue 15), drawn from a seeded PRNG
 * so a failing case is reproduced by its seed and index. Valid requests per endpoint are
 * mutated: fields replaced by odd values (deep nesting, NUL and lone surrogates, huge numbers,
 * wrong types), removed or added; the JSON text itself cut or corrupted; odd headers and paths.
 * Used by the fuzz test (a few seconds) and scripts/fuzz.mjs (a longer run).
 */
import { mulberry32 } from '../../src/lib/random.js';

export interface FuzzCase {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** What the generator needs to know of the gateway under test. */
export interface FuzzTarget {
  readonly adminToken: string;
  /** A path prefix an HTTP service takes, or null. */
  readonly servicePrefix: string | null;
}

const MODEL_TEMPLATES: [string, () => Json][] = [
  ['/v1/chat/completions', () => ({ model: 'mock-1', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8, temperature: 0.5, user: 'u-1', metadata: { trace: 't-1' } })],
  ['/v1/completions', () => ({ model: 'mock-1', prompt: 'hello', max_tokens: 8 })],
  ['/v1/embeddings', () => ({ model: 'mock-1', input: ['a', 'b'], encoding_format: 'float' })],
  ['/v1/messages', () => ({ model: 'mock-1', max_tokens: 8, system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }], metadata: { user_id: 'u-1' } })],
];

const ADMIN_BODIES: [string, () => Json][] = [
  ['/admin/keys', () => ({ name: 'fuzz', tier: 'default', user: 'u', models: ['mock-1'], limits: { rpm: 10 }, budget: { daily: 1 }, metadata: { team: 'x' } })],
  ['/admin/cache/purge', () => ({ namespace: 'ns', key: 'k', version: 1 })],
];

const ADMIN_GETS = ['/admin/keys', '/admin/usage', '/admin/usage/requests', '/admin/cache'];
const QUERY_KEYS = ['model', 'user', 'key', 'tier', 'from', 'to', 'group_by', 'bucket', 'limit', 'cursor', 'provider', 'route'];

/** encodeURIComponent, which throws on a lone surrogate: that one is sent as its raw UTF-8 bytes would be. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

export class FuzzInputs {
  readonly #random: () => number;
  readonly #target: FuzzTarget;

  constructor(seed: number, target: FuzzTarget) {
    this.#random = mulberry32(seed);
    this.#target = target;
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }

  #chance(p: number): boolean {
    return this.#random() < p;
  }

  /** Odd text: control characters, NUL, lone surrogates, bidi overrides, long runs. */
  oddString(): string {
    const parts = ['', 'a', '\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u202e', '\ufeff', 'é', '中文', '%00', '../', '\\', '"', '\n', '\u2028', '*', '|', '?', '#', ' '];
    switch (this.#int(6)) {
      case 0:
        return 'x'.repeat(this.#pick([0, 1, 255, 256, 10_000, 100_000]));
      case 1:
        return String.fromCharCode(this.#int(0x10000));
      default: {
        let s = '';
        for (let i = this.#int(6); i >= 0; i--) s += this.#pick(parts);
        return s;
      }
    }
  }

  /** A nested array or object `depth` levels deep (iteratively built). */
  #nested(depth: number): Json {
    let v: Json = this.#chance(0.5) ? 'leaf' : 1;
    for (let i = 0; i < depth; i++) v = this.#chance(0.5) ? [v] : { content: v };
    return v;
  }

  oddValue(): Json {
    switch (this.#int(14)) {
      case 0:
        return this.oddString();
      case 1:
        return this.#pick([0, -1, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, 1.5, -0, 4294967296, 123456789012345680000]);
      case 2:
        return this.#pick([true, false, null]);
      case 3:
        return [];
      case 4:
        return {};
      case 5:
        return this.#nested(this.#pick([10, 63, 64, 65, 200, 3000]));
      case 6:
        return Array.from({ length: this.#pick([1, 100, 5000]) }, () => this.#pick([1, 'a', null, [1]]));
      case 7:
        return { __proto__x: 1, constructor: { prototype: 1 }, toString: 'x' };
      case 8:
        return [{ role: this.oddString(), content: this.oddValue() }];
      case 9:
        return [{ type: 'text', text: this.oddString() }, { type: 'image_url', image_url: { url: this.oddString() } }];
      case 10:
        return Object.fromEntries(Array.from({ length: this.#int(5) }, () => [this.oddString(), this.#pick<Json>([1, 'v', null])]));
      case 11:
        return this.#pick(['mock-1', 'gpt-4o', '', '*', 'mock-1\u0000', 'a'.repeat(1000)]);
      case 12:
        return [[1, 2, 3], [-1, 2 ** 40]];
      default:
        return this.#int(1000);
    }
  }

  /** A template mutated one to three times: a field replaced, removed, or added. */
  #mutate(value: Json): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const out: { [k: string]: Json } = { ...value };
    for (let n = 1 + this.#int(3); n > 0; n--) {
      const keys = Object.keys(out);
      const op = this.#int(4);
      if (op === 0 && keys.length > 0) delete out[this.#pick(keys)];
      else if (op === 1) out[this.#pick(['stream', 'n', 'top_p', 'stop', 'tools', 'tool_choice', 'stream_options', 'dimensions', 'expiresAt', 'shared', this.oddString()])] = this.oddValue();
      else if (keys.length > 0) out[this.#pick(keys)] = this.oddValue();
    }
    return out;
  }

  /** JSON text, sometimes broken: cut short, a byte changed, wrapped, or not JSON at all. */
  #text(value: Json): string {
    let text = JSON.stringify(value);
    switch (this.#int(12)) {
      case 0:
        return text.slice(0, this.#int(text.length));
      case 1: {
        const i = this.#int(text.length);
        return text.slice(0, i) + this.#pick(['{', '[', '"', '\\', '\u0000', ',', '}', 'NaN', '1e999']) + text.slice(i);
      }
      case 2:
        return this.#pick(['', 'null', '[]', '"str"', '1', 'true', '{"__proto__":{"x":1}}', '{"a":1,"a":2}', '[' .repeat(100_000), '\ufeff{}']);
      case 3:
        text = `[${text}]`;
        return text;
      default:
        return text;
    }
  }

  #headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = {};
    if (json || this.#chance(0.5)) h['content-type'] = this.#chance(0.8) ? 'application/json' : this.#pick(['text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/JSON;charset=UTF-8', '*/*']);
    if (this.#chance(0.2)) h['x-request-id'] = this.#pick(['', 'x'.repeat(300), 'id with spaces', '../../etc']);
    if (this.#chance(0.2)) h['x-sluice-priority'] = this.#pick(['999', '-5', 'abc', '1e3', '']);
    if (this.#chance(0.1)) h['content-encoding'] = this.#pick(['gzip', 'br', 'identity']);
    if (this.#chance(0.1)) h['accept-encoding'] = this.#pick(['gzip', 'br;q=0', '*']);
    if (this.#chance(0.2)) h.authorization = this.#pick(['Bearer ', 'Bearer sk-nope', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'x'.repeat(5000)]);
    if (this.#chance(0.1)) h['x-api-key'] = this.#pick(['', 'sk-sluice-x', 'k'.repeat(300)]);
    return h;
  }

  #query(): string {
    const parts: string[] = [];
    for (let n = this.#int(4); n > 0; n--) {
      const v = this.#pick(['%00', '%ED%A0%80', 'a%00b', '2026-01-01T00:00:00Z', 'not-a-date', '-1', '99999999999', 'model,user', 'minute', encode(this.oddString()), '%zz', '']);
      parts.push(`${this.#pick(QUERY_KEYS)}=${v}`);
    }
    return parts.length === 0 ? '' : `?${parts.join('&')}`;
  }

  #oddPath(path: string): string {
    switch (this.#int(10)) {
      case 0:
        return path + this.#pick(['/', '//', '/.', '/..', '%00', '%zz', '%2e%2e', '?', '#frag', ';x']);
      case 1:
        return path.replace('/v1/', this.#pick(['/v1//', '/v1/./', '/V1/', '/v1/../v1/']));
      default:
        return path;
    }
  }

  /** The next case. */
  next(): FuzzCase {
    const admin = { authorization: `Bearer ${this.#target.adminToken}` };
    const kind = this.#int(10);
    if (kind < 6) {
      const [path, template] = this.#pick(MODEL_TEMPLATES);
      const body = this.#text(this.#mutate(template()));
      return { method: this.#chance(0.97) ? 'POST' : this.#pick(['GET', 'PUT', 'DELETE'] as const), path: this.#oddPath(path), headers: this.#headers(true), body };
    }
    if (kind === 6) {
      const [path, template] = this.#pick(ADMIN_BODIES);
      return { method: 'POST', path: this.#oddPath(path), headers: { ...this.#headers(true), ...admin }, body: this.#text(this.#mutate(template())) };
    }
    if (kind === 7) {
      const id = this.#pick(['%00', 'a%00b', '%ED%A0%80', 'x'.repeat(500), 'no-such', '..', '%2e%2e', encode(this.oddString())]);
      const [method, path] = this.#pick([['POST', `/admin/keys/${id}/rotate`], ['DELETE', `/admin/keys/${id}`]] as const);
      return { method, path, headers: admin, body: null };
    }
    if (kind === 8) return { method: 'GET', path: this.#pick(ADMIN_GETS) + this.#query(), headers: this.#chance(0.9) ? admin : {}, body: null };
    const prefix = this.#target.servicePrefix ?? '/v1/models';
    const tail = this.#pick(['x', '../admin/keys', '%2e%2e/admin', 'a%2fb', 'a%5cb', 'a\\b', '%00', './x/../y', '%zz', 'ok?x=../y']);
    return { method: this.#pick(['GET', 'POST'] as const), path: `${prefix}${tail}`, headers: this.#headers(false), body: this.#chance(0.5) ? this.oddString() : null };
  }
}
