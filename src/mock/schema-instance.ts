/**
 * A deterministic instance of a JSON schema: what the mock answers to
 * `response_format: {type: "json_schema"}`, so structured-output clients (the openai SDK's
 * `parse()`, the AI SDK's `generateObject`, LangChain's `withStructuredOutput`) get an object
 * their own validator accepts. The subset is the one OpenAI's strict mode allows, plus the
 * usual extras: types (a type list takes its first non-null type), every declared property
 * (required and optional; none beyond them, as `additionalProperties: false` wants), `enum`
 * and `const` (the first value), arrays of `minItems` items (at least one, at most
 * `maxItems`), `prefixItems`, nested objects, `anyOf`/`oneOf` (the first branch that is not
 * `null`, so a nullable value is present), `allOf` (merged), `$ref` to `#/$defs/…` or
 * `#/definitions/…`, string formats and lengths, number ranges.
 */
import { isRecord } from '../lib/json.js';

/** Past this depth a recursive schema gets only what it requires: required properties, minItems items. */
const OPTIONAL_DEPTH = 4;
/** Past this depth everything is null: a schema that requires itself without end has no finite instance. */
const MAX_DEPTH = 16;

const FORMATS: Readonly<Record<string, string>> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  email: 'mock@example.com',
  uri: 'https://example.com/mock',
  url: 'https://example.com/mock',
  uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  duration: 'P1D',
};

export function schemaInstance(schema: unknown): unknown {
  return new Instance(schema).value(schema, 'value', 0);
}

class Instance {
  constructor(private readonly root: unknown) {}

  value(schema: unknown, name: string, depth: number): unknown {
    if (depth > MAX_DEPTH) return null;
    if (schema === true || !isRecord(schema)) return `mock-${name}`;
    if (typeof schema.$ref === 'string') return this.value(this.resolve(schema.$ref), name, depth + 1);
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = schema[key];
      if (Array.isArray(branches) && branches.length > 0) {
        // The first branch that is not null: a nullable value (anyOf [T, null]) is given as a T.
        const branch = branches.find((b) => !(isRecord(b) && b.type === 'null')) ?? branches[0];
        return this.value(isRecord(branch) ? { ...withoutKey(schema, key), ...branch } : branch, name, depth + 1);
      }
    }
    if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return this.value(mergeAll(withoutKey(schema, 'allOf'), schema.allOf), name, depth + 1);
    switch (typeOf(schema)) {
      case 'string':
        return stringFor(schema, name);
      case 'integer':
        return numberFor(schema, true);
      case 'number':
        return numberFor(schema, false);
      case 'boolean':
        return true;
      case 'null':
        return null;
      case 'array':
        return this.array(schema, name, depth);
      case 'object':
        return this.object(schema, depth);
      default:
        return `mock-${name}`;
    }
  }

  array(schema: Record<string, unknown>, name: string, depth: number): unknown[] {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const min = count(schema.minItems) ?? 0;
    const max = count(schema.maxItems);
    let n = Math.max(min, prefix.length, depth < OPTIONAL_DEPTH ? 1 : 0);
    if (max !== null) n = Math.min(n, max);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(i < prefix.length ? prefix[i] : schema.items, `${name}-${i}`, depth + 1));
    return out;
  }

  object(schema: Record<string, unknown>, depth: number): Record<string, unknown> {
    const props = isRecord(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === 'string') : []);
    const out: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(props)) {
      if (required.has(key) || depth < OPTIONAL_DEPTH) out[key] = this.value(sub, key, depth + 1);
    }
    // A required name without a declared schema still gets a value.
    for (const key of required) if (!(key in out)) out[key] = `mock-${key}`;
    return out;
  }

  /** A local JSON pointer (`#/$defs/Name`, `#/definitions/Name`, `#`); anything else is `{}`. */
  resolve(ref: string): unknown {
    if (!ref.startsWith('#')) return {};
    let node: unknown = this.root;
    for (const raw of ref.slice(1).split('/').slice(1)) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      node = isRecord(node) ? node[key] : undefined;
    }
    return node ?? {};
  }
}

function typeOf(schema: Record<string, unknown>): string | null {
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0] ?? null) as string | null;
  if (isRecord(schema.properties) || Array.isArray(schema.required)) return 'object';
  if ('items' in schema || Array.isArray(schema.prefixItems)) return 'array';
  return null;
}

function withoutKey(schema: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _drop, ...rest } = schema;
  return rest;
}

/** allOf branches merged into one schema: properties and required lists joined, other keys the later's. */
function mergeAll(base: Record<string, unknown>, branches: unknown[]): Record<string, unknown> {
  let out = base;
  for (const b of branches) {
    if (!isRecord(b)) continue;
    const properties = { ...(isRecord(out.properties) ? out.properties : {}), ...(isRecord(b.properties) ? b.properties : {}) };
    const required = [...(Array.isArray(out.required) ? out.required : []), ...(Array.isArray(b.required) ? b.required : [])];
    out = { ...out, ...b, properties, required };
  }
  return out;
}

function count(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? Math.min(v, 64) : null;
}

function stringFor(schema: Record<string, unknown>, name: string): string {
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  let s = format ?? `mock-${name}`;
  const min = count(schema.minLength);
  const max = count(schema.maxLength);
  if (min !== null && s.length < min) s = s.padEnd(min, 'x');
  if (max !== null && s.length > max) s = s.slice(0, max);
  return s;
}

/** 42 when the range allows it, else the nearest allowed value (an integer for `integer`). */
function numberFor(schema: Record<string, unknown>, integer: boolean): number {
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const step = integer ? 1 : 0.5;
  let lo = num(schema.minimum) ?? -Infinity;
  let hi = num(schema.maximum) ?? Infinity;
  const exLo = num(schema.exclusiveMinimum);
  const exHi = num(schema.exclusiveMaximum);
  if (exLo !== null) lo = Math.max(lo, exLo + step);
  if (exHi !== null) hi = Math.min(hi, exHi - step);
  let v = Math.min(Math.max(42, lo), hi);
  if (integer) v = Math.ceil(v) <= hi ? Math.ceil(v) : Math.floor(v);
  const multiple = num(schema.multipleOf);
  if (multiple !== null && multiple > 0) v = Math.ceil(v / multiple) * multiple;
  return v;
}
