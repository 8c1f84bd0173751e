import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { z } from 'zod'
import { ATTESTOR_CONFIG_SCHEMAS, namespaceOf } from './attestors/catalog.js'
import { namespaceOverlaps } from './attestors/namespace.js'
import { ConfigError } from './config-error.js'
import { keptPartitions, MAX_KEPT_PARTITIONS } from './ledger/partition-bound.js'
import { KeyEncryptionKeyText, KeysConfig } from './keys/keys-config.js'
import type { RedisEndpoint, RedisNode } from './lib/redis-connection.js'
import { MAX_TOKEN_LIFETIME_SECONDS } from './lib/token-lifetime.js'

export { ConfigError }

/**
 * The one reader of process.env and of the configuration file. Everything else receives a validated
 * Config. Problems are reported all at once, each naming the key, and the process stops before
 * listening.
 */

/** One entry of `attestors`: the schema of the kind its `kind` names, each kind's from the catalog. */
export const AttestorConfig = z.discriminatedUnion('kind', ATTESTOR_CONFIG_SCHEMAS)
export type AttestorConfig = z.infer<typeof AttestorConfig>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A proxy Fastify may believe about X-Forwarded-For (proxy-addr's syntax): an address, a CIDR or a named range. */
const TrustedProxy = z
  .string()
  .refine((value) => isTrustedProxy(value.trim()), 'must be an IP address, a CIDR (10.0.0.0/8), or one of loopback, linklocal, uniquelocal')
const TrustedProxies = z.string().refine((value) => value.split(',').every((part) => isTrustedProxy(part.trim())), {
  message: 'must be a comma-separated list of IP addresses, CIDRs (10.0.0.0/8), or loopback, linklocal, uniquelocal',
})

function isTrustedProxy(value: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(value)) return true
  const [address, bits, ...rest] = value.split('/')
  const version = isIP(address ?? '')
  if (version === 0 || rest.length > 0) return false
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128))
}

/** `host:port` of a Sentinel or a Cluster node (`[::1]:26379` for an IPv6 address). */
const HostPort = z.string().transform((value, ctx): RedisNode => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value.trim())
  const port = Number(match?.[3])
  if (!match || port < 1 || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not host:port (e.g. redis-0.redis:26379, 10.0.0.5:6379, [fd00::5]:6379)` })
    return z.NEVER
  }
  return { host: match[1] ?? match[2], port }
})

const REDIS_DEFAULTS = { keyPrefix: 'sts:', commandTimeoutMs: 500, heartbeatMs: 1000, maxStalenessMs: 5000 }

/**
 * Where Redis is: one of `url` (one server), `sentinels` with `name` (the primary they watch), or
 * `cluster` (some of its nodes). Each problem names the key; `endpoint` is what the connections use.
 */
const RedisSection = z
  .object({
    url: z.string().min(1).optional(),
    /** Sentinels to ask where the primary `name` is: `host:port` each. */
    sentinels: z.array(HostPort).min(1, 'list at least one Sentinel (three or more in production)').optional(),
    /** The primary's name as the Sentinels know it (`sentinel monitor <name> ...`). */
    name: z.string().min(1).optional(),
    /** The Sentinels' own password (`requirepass` in sentinel.conf); REDIS_SENTINEL_PASSWORD. */
    sentinelPassword: z.string().min(1).optional(),
    /** Nodes of a Redis Cluster, `host:port` each: the rest are found from them. */
    cluster: z.array(HostPort).min(1, 'list at least one node of the Cluster (every primary, preferably)').optional(),
    /** ACL user and password of the servers holding the data, with sentinels or cluster (a URL carries its own); REDIS_PASSWORD. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    keyPrefix: z.string().default(REDIS_DEFAULTS.keyPrefix),
    commandTimeoutMs: z.number().int().positive().default(REDIS_DEFAULTS.commandTimeoutMs),
    /** How often an instance checks its subscription to revocations is alive. */
    heartbeatMs: z.number().int().positive().default(REDIS_DEFAULTS.heartbeatMs),
    /** Out of touch with Redis longer than this, an instance refuses to issue until it has caught up. */
    maxStalenessMs: z.number().int().positive().default(REDIS_DEFAULTS.maxStalenessMs),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const given = (['url', 'sentinels', 'cluster'] as const).filter((key) => redis[key] !== undefined)
    if (given.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `give one of url (REDIS_URL), sentinels or cluster, not ${given.join(' and ')}`,
      })
    if (redis.sentinels && redis.name === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'with sentinels, name the primary as the Sentinels know it (the <name> of `sentinel monitor <name> ...`)',
      })
    for (const key of ['name', 'sentinelPassword'] as const)
      if (redis[key] !== undefined && !redis.sentinels) ctx.addIssue({ code: 'custom', path: [key], message: 'only used with sentinels' })
    for (const key of ['username', 'password'] as const) {
      if (redis[key] === undefined) continue
      if (redis.url !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'with url (REDIS_URL), the credentials go in the URL (redis://user:password@host:6379)',
        })
      else if (!redis.sentinels && !redis.cluster)
        ctx.addIssue({ code: 'custom', path: [key], message: 'only used with sentinels or cluster' })
    }
  })
  .transform((redis) => ({ ...redis, endpoint: redisEndpoint(redis) }))

function redisEndpoint(redis: {
  url?: string | undefined
  sentinels?: RedisNode[] | undefined
  name?: string | undefined
  sentinelPassword?: string | undefined
  cluster?: RedisNode[] | undefined
  username?: string | undefined
  password?: string | undefined
}): RedisEndpoint | undefined {
  const credentials = {
    ...(redis.username !== undefined ? { username: redis.username } : {}),
    ...(redis.password !== undefined ? { password: redis.password } : {}),
  }
  if (redis.url !== undefined) return { url: redis.url }
  if (redis.sentinels && redis.name !== undefined) {
    const sentinelPassword = redis.sentinelPassword !== undefined ? { sentinelPassword: redis.sentinelPassword } : {}
    return { sentinels: redis.sentinels, name: redis.name, ...sentinelPassword, ...credentials }
  }
  if (redis.cluster) return { cluster: redis.cluster, ...credentials }
  return undefined
}

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const

/**
 * TLS to Postgres, as libpq's sslmode: `require` encrypts without checking the server, `verify-ca`
 * checks its certificate against `caFile` (or Node's public CAs), `verify-full` also its host name.
 */
const DatabaseSsl = z
  .object({
    mode: z.enum(SSL_MODES),
    /** PEM bundle of the CAs the server's certificate must chain to (a managed service's bundle). */
    caFile: z.string().min(1).optional(),
    /** A client certificate and its key (PEM), for servers that authenticate clients by certificate. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((ssl, ctx) => {
    if ((ssl.certFile === undefined) !== (ssl.keyFile === undefined))
      ctx.addIssue({ code: 'custom', path: [ssl.certFile ? 'keyFile' : 'certFile'], message: 'certFile and keyFile go together' })
    if (ssl.mode === 'disable')
      for (const key of ['caFile', 'certFile', 'keyFile'] as const)
        if (ssl[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'not used with mode disable' })
    if (ssl.mode === 'verify-ca' && ssl.caFile === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'verify-ca needs caFile, the CA that signed the server certificate (or use verify-full, which checks the host name too)',
      })
    if (ssl.mode === 'require' && ssl.caFile !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'mode require does not check the server certificate: use verify-full (or verify-ca) to check it against caFile',
      })
  })

/** libpq's TLS parameters in database.url, which pg would let override database.ssl. */
const URL_SSL_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl']

function urlSslParameters(url: string): string[] {
  try {
    const params = new URL(url).searchParams
    return URL_SSL_PARAMETERS.filter((name) => params.has(name))
  } catch {
    return []
  }
}

export const ConfigSchema = z
  .object({
    issuer: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
    trustDomain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name, e.g. example.org'),
    /** What every attestation must be addressed to (its `aud`). */
    audience: z.string().min(1),
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65_535).default(8080),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /**
     * Trust `X-Forwarded-For` from the proxies in front: a list of their addresses or CIDRs (an array, or
     * one comma-separated string; `loopback`, `linklocal` and `uniquelocal` name those ranges), or
     * `true` for any peer at all, which lets every client choose the address it is seen from.
     */
    trustProxy: z.union([z.boolean(), TrustedProxies, z.array(TrustedProxy).min(1)]).default(false),
    database: z
      .object({
        url: z.string().min(1).optional(),
        dataDir: z.string().default('data/ledger'),
        poolSize: z.number().int().positive().default(20),
        /** A statement running longer is cancelled (its request fails 503); migrations that need longer lift it themselves. */
        statementTimeoutMs: z.number().int().positive().max(3_600_000).default(5000),
        ssl: DatabaseSsl.optional(),
      })
      .strict()
      .superRefine((database, ctx) => {
        const inUrl = database.url === undefined ? [] : urlSslParameters(database.url)
        if (database.ssl && inUrl.length > 0)
          ctx.addIssue({
            code: 'custom',
            path: ['ssl'],
            message: `database.url (DATABASE_URL) has ${inUrl.join(', ')} too, which would override ssl: give TLS in one place`,
          })
        if (database.ssl && database.url === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['ssl'],
            message: 'only used with url (DATABASE_URL): the embedded PGlite has no connection',
          })
      })
      .default({ dataDir: 'data/ledger', poolSize: 20, statementTimeoutMs: 5000 }),
    redis: RedisSection.default({ ...REDIS_DEFAULTS, endpoint: undefined }),
    admin: z
      .object({ token: z.string().min(24, 'the admin token must be at least 24 characters').optional() })
      .strict()
      .default({}),
    keys: KeysConfig,
    tokens: z
      .object({
        defaultTtlSeconds: z.number().int().positive().default(300),
        /** Capped: ledger retention drops a partition without reading it once this has passed since its end. */
        maxTtlSeconds: z.number().int().positive().max(MAX_TOKEN_LIFETIME_SECONDS).default(3600),
      })
      .strict()
      .default({ defaultTtlSeconds: 300, maxTtlSeconds: 3600 })
      .refine((t) => t.defaultTtlSeconds <= t.maxTtlSeconds, { message: 'defaultTtlSeconds cannot exceed maxTtlSeconds' }),
    grants: z
      .object({
        defaultLifetimeDays: z.number().int().positive().default(90),
        /** How often an instance reads the grant changes whatever the feed says: the safety net for lost messages. */
        catchUpIntervalMs: z.number().int().positive().default(1000),
        /** Without reading the grant changes for longer than this, an instance refuses to issue until it has. */
        maxStalenessMs: z.number().int().positive().default(5000),
        /**
         * Deprecated, ignored (the service warns): grants are no longer reloaded on a timer. Still accepted so
         * one configuration file serves both releases during a rolling upgrade.
         */
        cacheTtlMs: z.number().int().nonnegative().optional(),
      })
      .strict()
      .default({ defaultLifetimeDays: 90, catchUpIntervalMs: 1000, maxStalenessMs: 5000 })
      .refine((g) => g.catchUpIntervalMs < g.maxStalenessMs, {
        message: 'catchUpIntervalMs must be shorter than maxStalenessMs, or every pause between catch-ups fails exchanges closed',
        path: ['catchUpIntervalMs'],
      }),
    registrations: z
      .object({
        /** Instance registrations unused this long are forgotten by the tidy; 0 never forgets them. */
        tidyAfterDays: z.number().int().nonnegative().max(3650).default(30),
        /** How often each instance runs the tidy. */
        tidyIntervalSeconds: z.number().int().positive().default(3600),
        /** Registrations forgotten per statement. */
        tidyBatchSize: z.number().int().min(1).max(10_000).default(500),
      })
      .strict()
      .default({ tidyAfterDays: 30, tidyIntervalSeconds: 3600, tidyBatchSize: 500 }),
    audit: z
      .object({
        /** Audit entries are kept at least this long, then dropped a month (one partition) at a time; 0 keeps everything. */
        retentionDays: z.number().int().nonnegative().max(36_500).default(400),
      })
      .strict()
      .default({ retentionDays: 400 }),
    revocations: z
      .object({
        /** Revocations lifted or expired longer ago than this are pruned from the database; 0 keeps them. */
        retentionDays: z.number().int().nonnegative().max(36_500).default(7),
        /** How long counting the live tokens a revocation cuts off may take; the answer says when there were more. */
        countBudgetMs: z.number().int().positive().max(60_000).default(150),
      })
      .strict()
      .default({ retentionDays: 7, countBudgetMs: 150 }),
    retention: z
      .object({
        /** How often each instance makes audit partitions ahead and applies both retentions. */
        intervalSeconds: z.number().int().positive().default(3600),
      })
      .strict()
      .default({ intervalSeconds: 3600 }),
    ledger: z
      .object({
        /** Partitions (and their tokens) older than this are dropped once every token in them has expired; 0 keeps everything. */
        retentionDays: z.number().int().nonnegative().max(36_500).default(90),
        /** One partition per UTC day, or per hour at high rates (tens of millions of tokens a day). */
        partitionInterval: z.enum(['day', 'hour']).default('day'),
        /** How often each instance creates the partitions ahead, applies retention and resumes the upgrade's move. */
        maintenanceIntervalSeconds: z.number().int().min(10).max(86_400).default(600),
      })
      .strict()
      .default({ retentionDays: 90, partitionInterval: 'day', maintenanceIntervalSeconds: 600 }),
    limits: z
      .object({
        maxAttestationBytes: z.number().int().positive().default(16_384),
        maxBodyBytes: z.number().int().positive().default(65_536),
        /** Token exchanges per client address per minute; 0 turns the limit off. */
        tokenRequestsPerMinute: z.number().int().nonnegative().default(6000),
        /**
         * Token exchanges per attested identity (subject) per minute, whatever addresses they come from,
         * counted once the attestation verifies; with REDIS_URL across instances. 0 turns it off.
         */
        tokenRequestsPerIdentityPerMinute: z.number().int().nonnegative().default(3000),
        /** Admin API requests per client address per minute; 0 turns the limit off. */
        adminRequestsPerMinute: z.number().int().nonnegative().default(600),
        /** Introspection requests per client address per minute; 0 turns the limit off. */
        introspectionRequestsPerMinute: z.number().int().nonnegative().default(60_000),
        /** Failed authentications (401s) per client address per minute, admin API and introspection together; 0 turns it off. */
        adminAuthFailuresPerMinute: z.number().int().nonnegative().default(20),
      })
      .strict()
      .default({
        maxAttestationBytes: 16_384,
        maxBodyBytes: 65_536,
        tokenRequestsPerMinute: 6000,
        tokenRequestsPerIdentityPerMinute: 3000,
        adminRequestsPerMinute: 600,
        introspectionRequestsPerMinute: 60_000,
        adminAuthFailuresPerMinute: 20,
      }),
    http: z
      .object({
        /** The whole request, headers and body, must arrive within this; 0 turns it off. Responses (streams) are not bound by it. */
        requestTimeoutMs: z.number().int().nonnegative().default(30_000),
        /** The request's headers must arrive within this. */
        headersTimeoutMs: z.number().int().positive().default(10_000),
        /** An idle keep-alive connection is closed after this; above the idle timeout of a load balancer in front. */
        keepAliveTimeoutMs: z.number().int().positive().default(72_000),
      })
      .strict()
      .default({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 })
      .refine((h) => h.requestTimeoutMs === 0 || h.headersTimeoutMs <= h.requestTimeoutMs, {
        message: 'headersTimeoutMs cannot exceed requestTimeoutMs',
        path: ['headersTimeoutMs'],
      }),
    /** Load shedding (src/http/overload.ts): past a bound, requests are answered 503 with Retry-After before any work. */
    overload: z
      .object({
        /** Mean event-loop lag over a sample, in ms; 0 turns the bound off. */
        maxEventLoopDelayMs: z.number().int().nonnegative().default(200),
        /** Event-loop utilization over a sample, 0 to 1; 0 turns the bound off (the default: see README, Overload). */
        maxEventLoopUtilization: z.number().min(0).max(1).default(0),
        /** Requests being answered at once by this process (revocation streams and health checks not counted); 0 turns it off. */
        maxRequestsInFlight: z.number().int().nonnegative().default(512),
        /** How often lag and utilization are measured. */
        sampleIntervalMs: z.number().int().min(10).max(60_000).default(1000),
        /** What a shed request is told to wait. */
        retryAfterSeconds: z.number().int().positive().max(3600).default(5),
      })
      .strict()
      .default({
        maxEventLoopDelayMs: 200,
        maxEventLoopUtilization: 0,
        maxRequestsInFlight: 512,
        sampleIntervalMs: 1000,
        retryAfterSeconds: 5,
      }),
    shutdown: z
      .object({
        /** On SIGTERM, how long requests in flight may take to finish before their connections are closed. */
        drainSeconds: z.number().positive().max(3600).default(10),
      })
      .strict()
      .default({ drainSeconds: 10 }),
    metrics: z
      .object({
        /** Prometheus metrics at GET /metrics. */
        enabled: z.boolean().default(true),
        /** Serve /metrics on this port only (on `host`), not beside the token endpoint on `port`. */
        port: z.number().int().min(1).max(65_535).optional(),
      })
      .strict()
      .default({ enabled: true }),
    tracing: z
      .object({
        /** OpenTelemetry traces exported by OTLP; the standard OTEL_* variables turn them on too (applyEnvironment). */
        enabled: z.boolean().default(false),
        /** Where spans are sent: the OTLP/HTTP (protobuf) traces URL of a collector. */
        endpoint: z.string().url().default('http://localhost:4318/v1/traces'),
        /** The service.name of every span. */
        serviceName: z.string().min(1).default('seed-sts'),
        /** The exporter OTEL_TRACES_EXPORTER names: only OTLP is built in. */
        exporter: z
          .string()
          .refine((name) => name.trim().toLowerCase() === 'otlp', {
            message: 'only the otlp exporter is built in: set OTEL_TRACES_EXPORTER to otlp, or none to turn traces off',
          })
          .optional(),
      })
      .strict()
      .default({ enabled: false, endpoint: 'http://localhost:4318/v1/traces', serviceName: 'seed-sts' }),
    clockSkewSeconds: z.number().int().nonnegative().max(600).default(60),
    /** Processes serving on the shared port; `auto` is one per core. */
    workers: z
      .union([z.number().int().min(1).max(256), z.literal('auto')])
      .default(1)
      .transform((w) => (w === 'auto' ? availableParallelism() : w)),
    attestors: z.array(AttestorConfig).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.database.url && config.keys.encryptionKey === undefined && config.keys.encryptionKeyFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['keys', 'encryptionKey'],
        message:
          'a shared database needs the key-encryption key every replica shares: set STS_KEY_ENCRYPTION_KEY ' +
          '(or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`',
      })
    }
    if (config.workers > 1 && (!config.database.url || !config.redis.endpoint)) {
      ctx.addIssue({
        code: 'custom',
        path: ['workers'],
        message:
          'several workers need a shared database and Redis: set database.url (DATABASE_URL) and redis.url (REDIS_URL), redis.sentinels or redis.cluster',
      })
    }
    if (config.metrics.port !== undefined && config.metrics.port === config.port) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', 'port'],
        message: `must differ from port (${config.port}): leave it out to serve /metrics on the main port`,
      })
    }
    const { retentionDays, partitionInterval } = config.ledger
    if (partitionInterval === 'hour' && keptPartitions(retentionDays, partitionInterval) > MAX_KEPT_PARTITIONS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ledger', 'retentionDays'],
        message:
          `hourly partitions keep ${retentionDays === 0 ? 'every hour forever' : `${retentionDays * 24} partitions`}, more than ${MAX_KEPT_PARTITIONS}: ` +
          `a search without a time bound would lock them all; with partitionInterval hour, retentionDays must be 1 to ${Math.floor(MAX_KEPT_PARTITIONS / 24)}`,
      })
    }
    const seen = new Map<string, string>()
    config.attestors.forEach((attestor, index) => {
      const keys = [['name', attestor.name], ...('issuer' in attestor ? [['issuer', attestor.issuer]] : [])] as const
      for (const [field, value] of keys) {
        const key = `${field}:${value}`
        if (seen.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: ['attestors', index, field],
            message: `${field} "${value}" is already used by ${seen.get(key)}`,
          })
        }
        seen.set(key, `attestors.${index}`)
      }
    })
    const namespaces = config.attestors.map((attestor) => ({ name: attestor.name, namespace: namespaceOf(attestor) }))
    for (const { index, problem } of namespaceOverlaps(namespaces))
      ctx.addIssue({ code: 'custom', path: ['attestors', index], message: problem })
  })

export type Config = z.infer<typeof ConfigSchema>

/** What starts the service when nobody wrote a configuration file: fine on a laptop, said loudly in the log. */
export const DEVELOPMENT_DEFAULTS = {
  issuer: 'http://localhost:8080',
  trustDomain: 'sts.localhost',
  audience: 'seed-sts',
}

export interface ConfigSource {
  /** Path of the YAML or JSON file, from --config or STS_CONFIG. */
  file?: string
  env: Record<string, string | undefined>
}

export interface LoadedConfig {
  config: Config
  /** Where the values came from, for the start-up log line. */
  file?: string
  usedDevelopmentDefaults: boolean
}

export function configSourceFromProcess(argv = process.argv.slice(2), env = process.env): ConfigSource {
  const flag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='))
  let file = env.STS_CONFIG
  if (flag >= 0) file = argv[flag].includes('=') ? argv[flag].slice('--config='.length) : argv[flag + 1]
  return { file: file || undefined, env }
}

export function loadConfig(source: ConfigSource): LoadedConfig {
  const raw = source.file ? readConfigFile(source.file) : { ...DEVELOPMENT_DEFAULTS }
  const merged = applyEnvironment(raw, source.env)
  if (!source.file && !source.env.STS_ISSUER) merged.issuer = developmentIssuer(merged.host, merged.port)
  const config = readKeyEncryptionKey(parseConfig(merged))
  if (source.file && config.keys.encryptionKey === undefined) {
    // A configuration file says this is a deployment: its keys must not be sealed with a key kept beside them.
    throw new ConfigError([
      'keys.encryptionKey: the signing keys are encrypted with a key-encryption key, and none is configured: ' +
        'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`, ' +
        'and keep it as safe as the database backups (the development defaults generate one in the data directory instead)',
    ])
  }
  return { config, file: source.file, usedDevelopmentDefaults: !source.file }
}

/** The key-encryption key from keys.encryptionKeyFile, checked as the environment's is. */
function readKeyEncryptionKey(config: Config): Config {
  const file = config.keys.encryptionKeyFile
  if (file === undefined) return config
  let text: string
  try {
    text = readFileSync(resolve(file), 'utf8')
  } catch (error) {
    throw new ConfigError([`keys.encryptionKeyFile: cannot read ${file}: ${(error as Error).message}`])
  }
  const parsed = KeyEncryptionKeyText.safeParse(text)
  if (!parsed.success) throw new ConfigError([`keys.encryptionKeyFile: ${file} ${parsed.error.issues[0]?.message ?? 'is not a key'}`])
  return { ...config, keys: { ...config.keys, encryptionKey: parsed.data } }
}

/**
 * The configuration read again for a reload (SIGHUP, POST /v1/admin/reload), exactly as at start: the
 * same file and environment, the same schema, the same messages. A problem is returned, not thrown: a
 * running service refuses the new configuration and keeps its own (src/reload/config-reloader.ts).
 */
export function reloadConfig(source: ConfigSource): { config: Config } | { problems: string[] } {
  try {
    return { config: loadConfig(source).config }
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems }
    throw error
  }
}

/**
 * Without a file the issuer is where the service listens (PORT and HOST included), so the URLs discovery
 * advertises reach it; a wildcard address is reached at localhost. A port that is not one keeps the
 * default issuer, so the only problem reported is the port's.
 */
function developmentIssuer(host: unknown, port: unknown): string {
  const listenPort = port === undefined ? 8080 : port
  if (typeof listenPort !== 'number' || !Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65_535) {
    return DEVELOPMENT_DEFAULTS.issuer
  }
  const wildcard = typeof host !== 'string' || host === '' || host === '0.0.0.0' || host === '::'
  const name = wildcard ? 'localhost' : host
  return `http://${isIP(name) === 6 ? `[${name}]` : name}:${listenPort}`
}

export function parseConfig(input: unknown): Config {
  const result = ConfigSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`))
  }
  return result.data
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(resolve(file), 'utf8')
  } catch (error) {
    throw new ConfigError([`cannot read configuration file ${file}: ${(error as Error).message}`])
  }
  let parsed: unknown
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: false })
  } catch (error) {
    throw new ConfigError([
      `configuration file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}${syntaxErrorAt(text, error)}`,
    ])
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`configuration file ${file} must hold an object at its top level`])
  }
  return parsed as Record<string, unknown>
}

/**
 * Where a file fails to parse, without quoting it: the parsers' own messages quote the offending line,
 * and this message reaches logs, the audit log and the reload endpoint's answer, where a line holding a
 * password or a token must not. JSON is located by the YAML parser too (JSON is YAML), when it can be.
 */
function syntaxErrorAt(text: string, error: unknown): string {
  let located = error
  if (!(error instanceof YAMLParseError)) {
    try {
      parseYaml(text, { prettyErrors: false })
    } catch (yamlError) {
      located = yamlError
    }
  }
  if (!(located instanceof YAMLParseError)) return ''
  const before = text.slice(0, located.pos[0]).split('\n')
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}: ${located.message}`
}

function applyEnvironment(raw: Record<string, unknown>, env: ConfigSource['env']): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...raw }
  const section = (name: string): Record<string, unknown> => {
    const current = merged[name]
    const copy = typeof current === 'object' && current !== null ? { ...(current as Record<string, unknown>) } : {}
    merged[name] = copy
    return copy
  }
  if (env.PORT !== undefined) merged.port = Number(env.PORT)
  if (env.HOST) merged.host = env.HOST
  if (env.STS_ISSUER) merged.issuer = env.STS_ISSUER
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL
  if (env.DATABASE_URL) section('database').url = env.DATABASE_URL
  if (env.REDIS_URL) section('redis').url = env.REDIS_URL
  if (env.REDIS_PASSWORD) section('redis').password = env.REDIS_PASSWORD
  if (env.REDIS_SENTINEL_PASSWORD) section('redis').sentinelPassword = env.REDIS_SENTINEL_PASSWORD
  if (env.STS_ADMIN_TOKEN) section('admin').token = env.STS_ADMIN_TOKEN
  if (env.STS_KEY_ENCRYPTION_KEY) section('keys').encryptionKey = env.STS_KEY_ENCRYPTION_KEY
  if (env.STS_WORKERS) merged.workers = env.STS_WORKERS === 'auto' ? 'auto' : Number(env.STS_WORKERS)
  applyTracingEnvironment(section, env)
  return merged
}

/**
 * The standard OpenTelemetry variables: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn traces
 * off whatever the file says; OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint given by
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT (with /v1/traces
 * appended, as the specification says), turn them on. Any other exporter is left to the schema to refuse.
 */
function applyTracingEnvironment(section: (name: string) => Record<string, unknown>, env: ConfigSource['env']): void {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined
  if (!exporter && !tracesEndpoint && !endpoint && !env.OTEL_SERVICE_NAME && !env.OTEL_SDK_DISABLED) return
  const tracing = section('tracing')
  if (tracesEndpoint) tracing.endpoint = tracesEndpoint
  else if (endpoint) tracing.endpoint = `${endpoint.replace(/\/+$/, '')}/v1/traces`
  if (env.OTEL_SERVICE_NAME) tracing.serviceName = env.OTEL_SERVICE_NAME
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporter === 'none') tracing.enabled = false
  else if (exporter === 'otlp' || (!exporter && (tracesEndpoint || endpoint))) tracing.enabled = true
  // Said through the schema, with every other problem: only OTLP is built in.
  else if (exporter) tracing.exporter = env.OTEL_TRACES_EXPORTER
}
