import { z } from 'zod';
import { oidcSchema } from './oidc.js';
import { duration, numeric, size } from './fields.js';
import { healthCheckSchema } from './health-check.js';
import { providerSchema } from '../providers/catalog.js';
import { baseUrlSchema } from '../providers/http/config.js';
import { redisConnectionSchema } from '../stores/connection.js';
import { batchingSchema } from './batching.js';
import { BATCH_PRICE_MULTIPLIER } from '../tokens/prices.js';

/**
 * The configuration schema. Every key here is documented in docs/configuration.md; a test
 * checks that the document names each of them.
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "." and "-"');

const corsSchema = z.strictObject({
  origins: z.array(z.string().min(1)).default([]),
  credentials: z.boolean().default(false),
  maxAge: duration.default(600_000),
});

const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: numeric(z.number().int().min(0).max(65535)).default(8787),
  bodyLimit: size.default(4 * 1024 * 1024),
  drainTimeout: duration.default(30_000),
  backlog: numeric(z.number().int().min(1).max(65535)).default(4096),
  trustProxy: z.union([z.boolean(), numeric(z.number().int().min(1)), z.array(z.string().min(1))]).default(false),
  cors: corsSchema.prefault({}),
  // Connection and stream limits (issue 15): each stream holds a client socket and an upstream one.
  maxConnections: numeric(z.number().int().min(1)).default(10_000),
  maxConnectionsPerIp: numeric(z.number().int().min(1)).default(2_000),
  maxStreams: numeric(z.number().int().min(1)).default(4_000),
  maxStreamsPerIp: numeric(z.number().int().min(1)).default(1_000),
  streamWriteTimeout: duration.default(30_000),
  // Issue 19: data-plane processes (node:cluster); `auto` is one per core.
  workers: z.union([z.literal('auto'), numeric(z.number().int().min(1).max(256))]).default(1),
});

const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  sampleRate: numeric(z.number().min(0).max(1)).default(1),
});

const tracingSchema = z.strictObject({
  /** OTLP/HTTP traces URL; absent keeps tracing off (and its SDK unloaded). */
  endpoint: baseUrlSchema('http://127.0.0.1:4318/v1/traces').optional(),
  headers: z.record(z.string(), z.string()).default({}),
  serviceName: z.string().min(1).default('sluice'),
  sampleRate: numeric(z.number().min(0).max(1)).default(1),
});

// Provider entries (`providers.<name>`): one schema per type, from the provider catalog.

/*
 * Routing policies. These schemas carry no defaults: a route's value overrides the
 * `routing` section's, which overrides the built-in defaults (compile.ts), key by key.
 */
const statusList = z.array(numeric(z.number().int().min(400).max(599))).min(1);

const retrySchema = z.strictObject({
  attempts: numeric(z.number().int().min(0).max(10)).optional(),
  on: statusList.optional(),
  backoffBase: duration.optional(),
  backoffMax: duration.optional(),
  budget: numeric(z.number().min(0).max(1)).optional(),
  budgetMinPerSecond: numeric(z.number().min(0)).optional(),
  maxRetryAfter: duration.optional(),
});

const breakerSchema = z.strictObject({
  enabled: z.boolean().optional(),
  failureRatio: numeric(z.number().gt(0).max(1)).optional(),
  minRequests: numeric(z.number().int().min(1)).optional(),
  window: duration.optional(),
  consecutiveFailures: numeric(z.number().int().min(0)).optional(),
  openFor: duration.optional(),
  halfOpenProbes: numeric(z.number().int().min(1)).optional(),
});

const priorityValue = numeric(z.number().int().min(-100).max(100));

/** Priority by request type (seed 000: interactive ranking ahead of experiments), added to the tier's. */
const priorityBySchema = z.strictObject({
  endpoint: z.partialRecord(z.enum(['chat', 'completions', 'embeddings']), priorityValue).optional(),
  header: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
      values: z.record(z.string().min(1), priorityValue),
    })
    .optional(),
});

const queueSchema = z.strictObject({
  maxDepth: numeric(z.number().int().min(0)).optional(),
  timeout: duration.optional(),
  priorityHeader: z.boolean().optional(),
  priority: priorityValue.optional(),
  priorityBy: priorityBySchema.optional(),
});

const routeTimeoutsSchema = z.strictObject({
  connect: duration.optional(),
  firstByte: duration.optional(),
  idle: duration.optional(),
  total: duration.optional(),
});

const limitsSchema = z.strictObject({
  rps: numeric(z.number().int().min(1)).optional(),
  rpm: numeric(z.number().int().min(1)).optional(),
  rpd: numeric(z.number().int().min(1)).optional(),
  tpm: numeric(z.number().int().min(1)).optional(),
  tpd: numeric(z.number().int().min(1)).optional(),
  concurrent: numeric(z.number().int().min(1)).optional(),
  /** Multiplier of each request limit that may be taken at once (GCRA burst); 1 = the limit itself. */
  burst: numeric(z.number().gt(0).max(100)).optional(),
});

const budgetSchema = z.strictObject({
  daily: numeric(z.number().min(0)).optional(),
  monthly: numeric(z.number().min(0)).optional(),
  alertAt: numeric(z.number().gt(0).max(1)).default(0.8),
});

const tierSchema = z.strictObject({
  limits: limitsSchema.optional(),
  budget: budgetSchema.optional(),
  totalBudget: budgetSchema.optional(),
  priority: numeric(z.number().int().min(-100).max(100)).default(0),
  priorityHeader: z.boolean().default(false),
});

const keySchema = z.strictObject({
  name: z.string().min(1),
  key: z.string().min(16, 'must be at least 16 characters (use `sluice keys create` or a random value)'),
  tier: z.string().min(1).default('default'),
  user: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  limits: limitsSchema.optional(),
  budget: budgetSchema.optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

const jwtSchema = z.strictObject({
  secret: z.string().min(32, 'must be at least 32 characters for HS256').optional(),
  publicKey: z.string().min(1).optional(),
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  algorithms: z.array(z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'])).min(1).optional(),
  issuer: z.string().min(1).optional(),
  audience: z.string().min(1).optional(),
  clockSkew: duration.default(30_000),
  maxAge: duration.optional(),
  requireExp: z.boolean().default(true),
  userClaim: z.string().min(1).default('sub'),
  tierClaim: z.string().min(1).default('tier'),
  jwksCacheMaxAge: duration.default(600_000),
  revocation: z.boolean().default(false),
  sessionClaim: z.string().min(1).default('sid'),
  revocationTtl: duration.default(86_400_000),
});

const authSchema = z.strictObject({
  required: z.boolean().optional(),
  jwt: jwtSchema.optional(),
  keyCacheTtl: duration.default(30_000),
});

const stateSchema = z.strictObject({
  redis: redisConnectionSchema.optional(),
  prefix: z.string().default('sluice:'),
  timeout: duration.default(500),
  failure: z.enum(['open', 'closed']).default('open'),
  checkInterval: duration.default(1_000),
  startupWait: duration.default(5_000),
});

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

const databaseSchema = z.strictObject({
  url: postgresUrl.optional(),
  replicas: z.array(postgresUrl).default([]),
  dataDir: z.string().min(1).default('.sluice/data'),
  embedded: z.enum(['disk', 'memory']).default('disk'),
  poolSize: numeric(z.number().int().min(1).max(1000)).default(10),
  statementTimeout: duration.default(5_000),
});

const usageSchema = z.strictObject({
  enabled: z.boolean().default(true),
  spoolDir: z.string().min(1).default('.sluice/usage-spool'),
  batchSize: numeric(z.number().int().min(1).max(10_000)).default(500),
  flushInterval: duration.default(1_000),
  fsync: z.enum(['always', 'interval', 'never']).default('interval'),
  retention: duration.optional(),
});

const adminToken = z.string().min(16, 'must be at least 16 characters');

/** An admin token: a bare string (role admin), or named with a role (issue 20: scoped admin access). */
const adminTokenSchema = z.union([
  adminToken,
  z.strictObject({
    name: z.string().min(1).max(100),
    token: adminToken,
    role: z.enum(['viewer', 'keys', 'admin']).default('admin'),
  }),
]);

const adminSchema = z.strictObject({
  tokens: z
    .array(adminTokenSchema)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((t, i) => {
        if (typeof t === 'string') return;
        if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate admin token name "${t.name}"` });
        seen.add(t.name);
      });
    }),
  /** Console sign-in through an OpenID Connect provider (issue 20; config/oidc.ts). */
  oidc: oidcSchema.optional(),
});

const routeCacheSchema = z.strictObject({
  ttl: duration,
  scope: z.enum(['key', 'user', 'tier', 'shared']).default('key'),
  anyTemperature: z.boolean().default(false),
  clientTtl: z.boolean().default(false),
  version: numeric(z.number().int().min(0)).default(1),
  namespace: z.string().min(1).optional(),
  staleIfError: duration.default(0),
  semantic: z
    .strictObject({
      provider: z.string().min(1),
      model: z.string().min(1),
      threshold: numeric(z.number().gt(0).max(1)).default(0.95),
      maxEntries: numeric(z.number().int().min(1)).default(10_000),
    })
    .optional(),
});

const cacheSchema = z.strictObject({
  backend: z.enum(['auto', 'memory', 'redis']).default('auto'),
  maxBytes: size.default(256 * 1024 * 1024),
  maxEntryBytes: size.default(4 * 1024 * 1024),
  wait: duration.default(30_000),
  lease: duration.default(60_000),
  timeout: duration.default(250),
});

const strategySchema = z.enum(['weighted', 'least-busy', 'latency', 'cost', 'region', 'failover']);

const priceSchema = z.strictObject({
  input: numeric(z.number().min(0)),
  output: numeric(z.number().min(0)),
  cachedInput: numeric(z.number().min(0)).optional(),
  cacheWrite: numeric(z.number().min(0)).optional(),
  cacheWrite1h: numeric(z.number().min(0)).optional(),
});

const targetSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1).optional(),
  weight: numeric(z.number().min(0)).default(1),
  region: z.string().min(1).optional(),
  maxConcurrent: numeric(z.number().int().min(1)).optional(),
  limits: z.strictObject({ rpm: numeric(z.number().int().min(1)).optional(), tpm: numeric(z.number().int().min(1)).optional(), rpd: numeric(z.number().int().min(1)).optional() }).optional(),
  price: priceSchema.optional(),
});

const routeSchema = z.strictObject({
  name: name.optional(),
  match: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  targets: z.array(targetSchema).min(1),
  strategy: strategySchema.optional(),
  fallback: z.array(z.string().min(1)).optional(),
  fallbackOn: statusList.optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  queue: queueSchema.optional(),
  timeouts: routeTimeoutsSchema.optional(),
  limits: limitsSchema.optional(),
  cache: routeCacheSchema.optional(),
  batching: batchingSchema.optional(),
});

const routingSchema = z.strictObject({
  region: z.string().min(1).optional(),
  regionHeader: z.string().min(1).default('x-sluice-region'),
  strategy: strategySchema.optional(),
  fallbackOn: statusList.optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  queue: queueSchema.optional(),
});

/*
 * HTTP services: the system's own API instances behind the gateway (issue #9). A top-level
 * list named `services`, not `routes`, because `routes` already means model routes; the word
 * is the one load balancers use for a named pool of instances (Traefik services, Envoy clusters).
 */
const httpMethod = z.string().regex(/^[A-Za-z]+$/, 'an HTTP method such as GET').transform((m) => m.toUpperCase());

const serviceMatchSchema = z.strictObject({
  host: z.string().min(1).optional(),
  pathPrefix: z.string().startsWith('/', 'must start with "/"').default('/'),
  methods: z.array(httpMethod).min(1).optional(),
});

const serviceInstanceSchema = z.strictObject({
  // Credentials in the URL would end up in logs and metric labels, which name instances by URL.
  url: z.url({ protocol: /^https?$/ }).refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'must not contain credentials'),
  weight: numeric(z.number().min(0)).default(1),
});

const affinitySource = z.enum(['header', 'cookie', 'ip', 'path']);

const serviceBalanceSchema = z.strictObject({
  strategy: z.enum(['round-robin', 'weighted', 'least-busy', 'latency', 'failover', 'consistent-hash']).default('round-robin'),
  /** What `consistent-hash` hashes. */
  hashOn: z.strictObject({ source: affinitySource, name: z.string().min(1).optional() }).optional(),
  sticky: z
    .strictObject({
      cookie: z.string().min(1).optional(),
      header: z.string().min(1).optional(),
      ttl: duration.default(3_600_000),
    })
    .refine((s) => (s.cookie === undefined) !== (s.header === undefined), 'set exactly one of cookie or header')
    .optional(),
}).superRefine((b, ctx) => {
  if (b.strategy === 'consistent-hash' && b.hashOn === undefined) ctx.addIssue({ code: 'custom', path: ['hashOn'], message: 'consistent-hash needs hashOn (source: header, cookie, ip or path)' });
  if (b.hashOn !== undefined && (b.hashOn.source === 'header' || b.hashOn.source === 'cookie') && b.hashOn.name === undefined) {
    ctx.addIssue({ code: 'custom', path: ['hashOn', 'name'], message: `hashing on a ${b.hashOn.source} needs its name` });
  }
});

const serviceHealthSchema = healthCheckSchema.extend({
  path: z.string().startsWith('/', 'must start with "/"'),
});

const serviceOutlierSchema = z.strictObject({
  consecutiveFailures: numeric(z.number().int().min(1)).default(5),
  ejectionTime: duration.default(30_000),
});

const serviceRetrySchema = z.strictObject({
  attempts: numeric(z.number().int().min(0).max(10)).default(2),
  methods: z.array(httpMethod).default(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
  on: statusList.default([502, 503, 504]),
  budget: numeric(z.number().min(0).max(1)).default(0.2),
  budgetMinPerSecond: numeric(z.number().min(0)).default(5),
});

const serviceRewriteSchema = z
  .strictObject({
    stripPrefix: z.boolean().optional(),
    replacePrefix: z.string().startsWith('/', 'must start with "/"').optional(),
  })
  .refine((r) => !(r.stripPrefix === true && r.replacePrefix !== undefined), 'set stripPrefix or replacePrefix, not both');

const serviceTimeoutsSchema = z.strictObject({
  connect: duration.default(5_000),
  firstByte: duration.default(60_000),
  idle: duration.default(60_000),
});

const serviceSchema = z.strictObject({
  name,
  match: serviceMatchSchema,
  instances: z.array(serviceInstanceSchema).min(1),
  balance: serviceBalanceSchema.prefault({}),
  healthCheck: serviceHealthSchema.optional(),
  outlier: serviceOutlierSchema.optional(),
  retry: serviceRetrySchema.prefault({}),
  rewrite: serviceRewriteSchema.optional(),
  auth: z.strictObject({ required: z.boolean() }).optional(),
  limits: limitsSchema.optional(),
  ipLimits: limitsSchema.optional(),
  bodyLimit: size.optional(),
  responseLimit: size.optional(),
  timeouts: serviceTimeoutsSchema.prefault({}),
  connections: numeric(z.number().int().min(1)).default(128),
  compression: z.union([z.boolean(), z.strictObject({ minSize: size.default(1024) })]).default(true),
  websocket: z.boolean().default(false),
  forwardCredentials: z.boolean().default(false),
  cache: z
    .strictObject({
      ttl: duration,
      version: numeric(z.number().int().min(0)).default(1),
      perPrincipal: z.boolean().default(false),
    })
    .optional(),
  allowEncodedSlashes: z.boolean().default(false),
});

/**
 * The file's shape. That every route target names a defined provider is checked by
 * `checkReferences` in load.ts, on the raw input, so it is reported even when another
 * problem stops this schema early.
 */
export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  logging: loggingSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
  routing: routingSchema.prefault({}),
  auth: authSchema.prefault({}),
  keys: z.array(keySchema).default([]),
  tiers: z.record(name, tierSchema).default({}),
  limits: z.strictObject({ ip: limitsSchema.optional() }).prefault({}),
  state: stateSchema.prefault({}),
  database: databaseSchema.prefault({}),
  admin: adminSchema.prefault({}),
  usage: usageSchema.prefault({}),
  prices: z.record(z.string().min(1), priceSchema).default({}),
  cache: cacheSchema.prefault({}),
  providers: z.record(name, providerSchema).optional(),
  routes: z.array(routeSchema).optional(),
  services: z
    .array(serviceSchema)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((svc, i) => {
        if (seen.has(svc.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate service name "${svc.name}"` });
        seen.add(svc.name);
      });
    }),
  responses: z.strictObject({ retention: duration.default(30 * 86_400_000) }).prefault({}),
  /** Hot reload (issue 20): SIGHUP and POST /admin/config/reload always; watching the file when `watch`. */
  reload: z.strictObject({ watch: z.boolean().default(false), debounce: duration.default(250) }).prefault({}),
  // Issue 21: the Files API and the Batch API (docs/batches.md).
  files: z.strictObject({ maxBytes: size.default(50 * 1024 * 1024), retention: duration.default(30 * 86_400_000) }).prefault({}),
  batches: z
    .strictObject({
      concurrency: numeric(z.number().int().min(1).max(1000)).default(4),
      pollInterval: duration.default(1_000),
      leaseTtl: duration.default(120_000),
      // Batch pass-through to the providers' own batch APIs (issue 21; docs/batches.md): true = every openai, azure-openai and anthropic provider, or a list of provider names.
      passthrough: z.union([z.boolean(), z.array(z.string().min(1)).min(1)]).default(false),
      passthroughPoll: duration.default(30_000),
      priceMultiplier: numeric(z.number().min(0).max(1)).default(BATCH_PRICE_MULTIPLIER),
      // The share of each target's maxConcurrent / rpm / tpm that batch lines may take (issue 21).
      share: numeric(z.number().gt(0).max(1)).default(0.5),
    })
    // Leases are renewed once per poll: a lease shorter than a few polls would lapse under a running line.
    .refine((b) => b.leaseTtl >= 3 * b.pollInterval, { path: ['leaseTtl'], message: 'must be at least three pollIntervals' })
    .prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type { ProviderConfig } from '../providers/catalog.js';
export type { OpenAIProviderConfig } from '../providers/openai/config.js';
export type { MockProviderConfig } from '../providers/mock/config.js';
export type RouteConfig = z.output<typeof routeSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
export type QueueConfig = z.output<typeof queueSchema>;
export type RoutingConfig = z.output<typeof routingSchema>;
export type StrategyName = z.output<typeof strategySchema>;
export type { HealthCheckConfig } from './health-check.js';
export type LimitsConfig = z.output<typeof limitsSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type TierConfig = z.output<typeof tierSchema>;
export type KeyConfig = z.output<typeof keySchema>;
export type UsageConfig = z.output<typeof usageSchema>;
export type JwtConfig = z.output<typeof jwtSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
