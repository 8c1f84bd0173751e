import { availableParallelism } from 'node:os'
import { z } from 'zod'
import { AdminConfig } from '../admin-tokens/admin-config.js'
import { attestorsProblems, AttestorsConfig } from '../attestors/attestors-config.js'
import { AuditConfig } from '../audit/audit-config.js'
import { ConfigError } from '../config-error.js'
import { ConsoleConfig } from '../console/console-config.js'
import { DpopConfig } from '../dpop/dpop-config.js'
import { DatabaseConfig } from '../db/database-config.js'
import { DelegationConfig } from '../exchange/delegation-config.js'
import { GrantsConfig } from '../grants/grants-config.js'
import { InventoryConfig } from '../inventory/inventory-config.js'
import { KeysConfig } from '../keys/keys-config.js'
import { hourlyPartitionProblem, LedgerConfig } from '../ledger/ledger-config.js'
import { RedisConfig } from '../lib/redis-config.js'
import { MetricsConfig } from '../metrics/metrics-config.js'
import { RegistrationsConfig } from '../replay/registrations-config.js'
import { RetentionConfig } from '../retention/retention-config.js'
import { RevocationsConfig } from '../revocation/revocation-config.js'
import { TokensConfig } from '../tokens/tokens-config.js'
import { TracingConfig } from '../tracing/tracing-config.js'
import { HttpConfig, LimitsConfig, OverloadConfig, ShutdownConfig, TrustProxyConfig } from './http-config.js'

/**
 * The whole configuration: every section, each from its concept's folder, and the checks no section
 * can make alone. src/config.ts is what reads the file and the environment into it.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const ConfigSections = z
  .object({
    issuer: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
    trustDomain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name, e.g. example.org'),
    /** What every attestation must be addressed to (its `aud`). */
    audience: z.string().min(1),
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65_535).default(8080),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    trustProxy: TrustProxyConfig,
    database: DatabaseConfig,
    redis: RedisConfig,
    admin: AdminConfig,
    keys: KeysConfig,
    tokens: TokensConfig,
    dpop: DpopConfig,
    delegation: DelegationConfig,
    grants: GrantsConfig,
    registrations: RegistrationsConfig,
    audit: AuditConfig,
    revocations: RevocationsConfig,
    retention: RetentionConfig,
    ledger: LedgerConfig,
    inventory: InventoryConfig,
    limits: LimitsConfig,
    http: HttpConfig,
    overload: OverloadConfig,
    shutdown: ShutdownConfig,
    metrics: MetricsConfig,
    console: ConsoleConfig,
    tracing: TracingConfig,
    clockSkewSeconds: z.number().int().nonnegative().max(600).default(60),
    /** Processes serving on the shared port; `auto` is one per core. */
    workers: z
      .union([z.number().int().min(1).max(256), z.literal('auto')])
      .default(1)
      .transform((w) => (w === 'auto' ? availableParallelism() : w)),
    attestors: AttestorsConfig,
  })
  .strict()

type ConfigSections = z.output<typeof ConfigSections>

export const ConfigSchema = ConfigSections.superRefine(checkAcrossSections)

export type Config = z.infer<typeof ConfigSchema>

/** Validates a configuration already read (file and environment merged); every problem at once, each naming its key. */
export function parseConfig(input: unknown): Config {
  const result = ConfigSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`))
  }
  return result.data
}

/** What no section can check alone, once every section has parsed: each problem at the key to change. */
function checkAcrossSections(config: ConfigSections, ctx: z.RefinementCtx): void {
  checkSharedDeployment(config, ctx)
  if (config.metrics.port !== undefined && config.metrics.port === config.port) {
    ctx.addIssue({
      code: 'custom',
      path: ['metrics', 'port'],
      message: `must differ from port (${config.port}): leave it out to serve /metrics on the main port`,
    })
  }
  const partitionProblem = hourlyPartitionProblem(config.ledger)
  if (partitionProblem !== undefined) ctx.addIssue({ code: 'custom', path: ['ledger', 'retentionDays'], message: partitionProblem })
  for (const { path, message } of attestorsProblems(config.attestors))
    ctx.addIssue({ code: 'custom', path: ['attestors', ...path], message })
}

/**
 * A shared database needs the key-encryption key and the source hash key every replica shares;
 * several workers need a shared database and Redis.
 */
function checkSharedDeployment(config: ConfigSections, ctx: z.RefinementCtx): void {
  const sealsKeys = config.keys.signer === 'software'
  if (sealsKeys && config.database.url && config.keys.encryptionKey === undefined && config.keys.encryptionKeyFile === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['keys', 'encryptionKey'],
      message:
        'a shared database needs the key-encryption key every replica shares: set STS_KEY_ENCRYPTION_KEY ' +
        '(or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`',
    })
  }
  if (config.database.url && config.tokens.sourceHashKey === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokens', 'sourceHashKey'],
      message:
        'a shared database needs the source hash key every replica shares (tokens and revocation events carry hashes under it): ' +
        'set STS_SOURCE_HASH_KEY (or tokens.sourceHashKey) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`',
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
}
