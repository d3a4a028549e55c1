import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { compileGlob, isGlob } from '../lib/glob.js';
import { describeIssue } from '../lib/zod-issue.js';
import { configSchema, type Config } from './schema.js';
import { isRecord } from '../lib/json.js';

/** One problem in a configuration, with the path of the offending entry. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  readonly source: string;

  constructor(source: string, problems: readonly ConfigProblem[]) {
    super(`invalid configuration in ${source}:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

/** `routes[1].targets[0].provider` from ['routes', 1, 'targets', 0, 'provider']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

const envRef = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value with the environment's
 * value. A reference to an unset variable without a default is a problem at that path.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblem[], path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(envRef, (whole, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, problems, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, problems, [...path, k]);
    return out;
  }
  return value;
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    // An unknown key is reported at its own path: "server.prot: unknown key".
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    else out.push({ path: formatPath(issue.path), message: describeIssue(issue) });
  }
  return out;
}


/**
 * Checks that every route target names a defined provider. Runs on the raw input, whatever
 * else is wrong with it, so every problem of a file is reported in one go.
 */
function checkReferences(raw: unknown): ConfigProblem[] {
  if (!isRecord(raw) || !Array.isArray(raw.routes)) return [];
  const providers = isRecord(raw.providers) ? raw.providers : null;
  const known = providers === null ? [] : Object.keys(providers);
  const out: ConfigProblem[] = [];
  const matchers = raw.routes.map((route: unknown) => routeMatcher(route));
  raw.routes.forEach((route: unknown, r) => {
    if (!isRecord(route)) return;
    if (Array.isArray(route.fallback)) {
      route.fallback.forEach((model: unknown, f) => {
        if (typeof model !== 'string') return;
        const served = matchers.findIndex((m) => m(model));
        const path = formatPath(['routes', r, 'fallback', f]);
        if (served === -1) out.push({ path, message: `no route serves the fallback model ${JSON.stringify(model)}` });
        else if (served === r) out.push({ path, message: `fallback model ${JSON.stringify(model)} is served by this same route` });
      });
    }
    const semantic = isRecord(route.cache) && isRecord(route.cache.semantic) ? route.cache.semantic : null;
    if (semantic !== null && typeof semantic.provider === 'string' && (providers === null ? semantic.provider !== 'mock' : !Object.hasOwn(providers, semantic.provider))) {
      out.push({ path: formatPath(['routes', r, 'cache', 'semantic', 'provider']), message: `unknown provider ${JSON.stringify(semantic.provider)}${known.length > 0 ? ` (defined: ${known.join(', ')})` : ''}` });
    }
    if (!Array.isArray(route.targets)) return;
    route.targets.forEach((target: unknown, t) => {
      if (!isRecord(target) || typeof target.provider !== 'string') return;
      const name = target.provider;
      // Without a providers section, the built-in `mock` provider is the one defined.
      const defined = providers === null ? name === 'mock' : Object.hasOwn(providers, name);
      if (!defined) {
        out.push({
          path: formatPath(['routes', r, 'targets', t, 'provider']),
          message: `unknown provider ${JSON.stringify(name)}${known.length > 0 ? ` (defined: ${known.join(', ')})` : ''}`,
        });
      }
    });
  });
  return out;
}

/** Keys name defined tiers, key names and values are unique, JWT has key material. */
function checkAuth(raw: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (!isRecord(raw)) return out;
  const tiers = isRecord(raw.tiers) ? raw.tiers : {};
  const names = new Set<string>();
  const values = new Set<string>();
  if (Array.isArray(raw.keys)) {
    raw.keys.forEach((key: unknown, i) => {
      if (!isRecord(key)) return;
      if (typeof key.tier === 'string' && key.tier !== 'default' && !Object.hasOwn(tiers, key.tier)) {
        out.push({ path: formatPath(['keys', i, 'tier']), message: `unknown tier ${JSON.stringify(key.tier)}` });
      }
      if (typeof key.name === 'string') {
        if (names.has(key.name)) out.push({ path: formatPath(['keys', i, 'name']), message: `duplicate key name ${JSON.stringify(key.name)}` });
        names.add(key.name);
      }
      if (typeof key.key === 'string') {
        // The value itself is never echoed: it is a secret.
        if (values.has(key.key)) out.push({ path: formatPath(['keys', i, 'key']), message: 'the same key value is declared twice' });
        values.add(key.key);
      }
    });
  }
  const auth = isRecord(raw.auth) ? raw.auth : null;
  const jwt = auth !== null && isRecord(auth.jwt) ? auth.jwt : null;
  if (jwt !== null) {
    const sources = ['secret', 'publicKey', 'jwksUrl'].filter((k) => jwt[k] !== undefined);
    if (sources.length !== 1) out.push({ path: 'auth.jwt', message: 'set exactly one of secret, publicKey or jwksUrl' });
    const algs = Array.isArray(jwt.algorithms) ? jwt.algorithms.filter((a): a is string => typeof a === 'string') : [];
    const hmac = algs.filter((a) => a.startsWith('HS'));
    if (jwt.secret !== undefined && algs.length > hmac.length) out.push({ path: 'auth.jwt.algorithms', message: 'a secret verifies HS* algorithms only' });
    if (jwt.secret === undefined && hmac.length > 0) out.push({ path: 'auth.jwt.algorithms', message: 'HS* algorithms need a secret, not a public key' });
  }
  return out;
}

/** A Redis cache needs the Redis the state store uses. */
function checkCache(raw: unknown): ConfigProblem[] {
  if (!isRecord(raw) || !isRecord(raw.cache) || raw.cache.backend !== 'redis') return [];
  const state = isRecord(raw.state) ? raw.state : {};
  return state.redis === undefined ? [{ path: 'cache.backend', message: 'the redis backend needs state.redis (the Redis every instance shares)' }] : [];
}

/** `batches.passthrough` names providers that exist and have a batch API (issue 21). */
function checkBatchPassthrough(raw: unknown): ConfigProblem[] {
  if (!isRecord(raw) || !isRecord(raw.batches) || !Array.isArray(raw.batches.passthrough)) return [];
  const providers = isRecord(raw.providers) ? raw.providers : {};
  const out: ConfigProblem[] = [];
  raw.batches.passthrough.forEach((name: unknown, i) => {
    if (typeof name !== 'string') return;
    const p = Object.hasOwn(providers, name) ? providers[name] : undefined;
    const type = isRecord(p) ? p.type : undefined;
    if (p === undefined) out.push({ path: formatPath(['batches', 'passthrough', i]), message: `unknown provider ${JSON.stringify(name)}` });
    else if (type !== 'openai' && type !== 'azure-openai' && type !== 'anthropic') out.push({ path: formatPath(['batches', 'passthrough', i]), message: `provider ${JSON.stringify(name)} (type ${String(type)}) has no batch API: openai, azure-openai and anthropic do` });
  });
  return out;
}

/** Whether a raw route's `match` covers a model name (first match wins, as in RouteTable). */
function routeMatcher(route: unknown): (model: string) => boolean {
  const match = isRecord(route) ? route.match : undefined;
  const patterns = typeof match === 'string' ? [match] : Array.isArray(match) ? match.filter((m): m is string => typeof m === 'string') : [];
  const res = patterns.map((p) => (isGlob(p) ? compileGlob(p) : null));
  return (model) => patterns.some((p, i) => (res[i] === null ? p === model : res[i]!.test(model)));
}

/** Validates an already-parsed configuration object. Throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const interpolated = interpolateEnv(raw ?? {}, env, problems);
  const result = configSchema.safeParse(interpolated, { reportInput: true });
  if (!result.success) problems.push(...zodProblems(result.error));
  problems.push(...checkReferences(interpolated), ...checkAuth(interpolated), ...checkCache(interpolated), ...checkBatchPassthrough(interpolated));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/** Parses YAML text and validates it. Throws ConfigError with the YAML error's position. */
export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { path: '', message: `YAML error at line ${line}, column ${col}: ${e.message.split('\n')[0] ?? ''}` };
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(source, [{ path: '', message: 'the configuration must be a YAML mapping' }]);
  }
  return validateConfig(raw, source, env);
}

const READ_ERRORS: Readonly<Record<string, string>> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a part of the path is not a directory' };

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // The file is named: "cannot read file: ENOENT" alone left the operator guessing which (issue 15).
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === undefined ? String(err) : `${READ_ERRORS[code] ?? 'error'} (${code})`;
    throw new ConfigError(file, [{ path: '', message: `cannot read config file ${JSON.stringify(file)}: ${why}` }]);
  }
  return parseConfigText(text, file, env);
}
