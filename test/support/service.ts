import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import type { JwksFetcher } from '../../src/jose/jwks-fetcher.js'
import { composeServices, type Services } from '../../src/compose.js'
import { parseConfig } from '../../src/config.js'
import { GUARDRAIL_RULES } from '../../src/grants/guardrails/guardrails-config.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import type { RedisEndpoint } from '../../src/lib/redis-connection.js'
import { createTestCluster, STS_AUDIENCE, type FakeCluster } from './cluster.js'
import { redisConfigOf } from './redis-kinds.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from './servers.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'
/** The key-encryption key of every test service: instances sharing a database must share it. */
export const KEY_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64')
/** The source hash key of every test service (`src_h` in tokens, `sourceHash` in revocations): instances sharing a database must share it. */
export const SOURCE_HASH_KEY = Buffer.alloc(32, 9).toString('base64')
export const ISSUER = 'https://sts.test.example'
export const TRUST_DOMAIN = 'example.org'
/** Every grant guardrail off: what a test service has unless its test configures `grants.guardrails`. */
export const GUARDRAILS_OFF = { rules: Object.fromEntries(GUARDRAIL_RULES.map((rule) => [rule, 'off'])) }

export interface TestService {
  app: FastifyInstance
  services: Services
  cluster: FakeCluster
  clock: FixedClock
  databaseUrl?: string
  admin: { authorization: string }
  /** Creates a grant through the admin API and returns its JSON. */
  createGrant(grant: Record<string, unknown>): Promise<Record<string, unknown>>
  /** Form-encodes and posts a token request. */
  exchange(params: Record<string, string>): Promise<{ statusCode: number; body: Record<string, unknown>; headers: Record<string, unknown> }>
}

export interface TestServiceOptions {
  /** `real` (default): Postgres and Redis. `embedded`: PGlite in memory and the in-process store. */
  backend?: 'real' | 'embedded'
  databaseUrl?: string
  redisUrl?: string
  /** Redis by Sentinel or Cluster (see redis-kinds.ts) in place of `redisUrl`. */
  redisEndpoint?: RedisEndpoint
  redisKeyPrefix?: string
  keysDir?: string
  config?: Record<string, unknown>
  now?: number
  /** Share one fake cluster between instances (by default each gets its own). */
  cluster?: FakeCluster
  /** Collects the service's log lines (at info level) instead of discarding them. */
  logLines?: string[]
  /** Answers JWKS fetches (Entra's, Google's...) in place of the network. */
  fetchJwks?: JwksFetcher
  /** With `tracing: { enabled: true }` in `config`, where the spans go (an InMemorySpanExporter). */
  spanExporter?: SpanExporter
}

export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

export async function startTestService(t: Test, options: TestServiceOptions = {}): Promise<TestService> {
  const clock = new FixedClock(options.now ?? NOW)
  const cluster = options.cluster ?? (await createTestCluster('prod', Math.floor(clock.now() / 1000)))
  const keysDir = options.keysDir ?? mkdtempSync(join(tmpdir(), 'sts-keys-'))
  if (!options.keysDir) t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const real = (options.backend ?? 'real') === 'real'
  const databaseUrl = real ? (options.databaseUrl ?? (await freshPostgresDatabase(t))) : undefined
  const {
    redis: redisOverrides,
    keys: keysOverrides,
    tokens: tokensOverrides,
    grants: grantsOverrides,
    ...overrides
  } = options.config ?? {}
  const config = parseConfig({
    issuer: ISSUER,
    trustDomain: TRUST_DOMAIN,
    audience: STS_AUDIENCE,
    logLevel: options.logLines ? 'info' : 'silent',
    database: databaseUrl ? { url: databaseUrl, poolSize: 5 } : { dataDir: 'memory://' },
    redis: real
      ? {
          ...redisConfigOf(options.redisEndpoint ?? { url: options.redisUrl ?? REDIS_URL }),
          keyPrefix: options.redisKeyPrefix ?? uniqueRedisPrefix(),
          ...(redisOverrides as object),
        }
      : {},
    admin: { token: ADMIN_TOKEN },
    keys: { dir: keysDir, encryptionKey: KEY_ENCRYPTION_KEY, ...(keysOverrides as object) },
    tokens: { sourceHashKey: SOURCE_HASH_KEY, ...(tokensOverrides as object) },
    // Tests of other things write the grants they need; the guardrails' own tests set grants.guardrails.
    grants: { guardrails: GUARDRAILS_OFF, ...(grantsOverrides as object) },
    attestors: [{ kind: 'kubernetes', name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks }],
    // No shedding on event-loop lag: a test process stalls its own loop (compiling a schema, minting
    // keys) as no service process does, for every service it hosts. test/http/overload.test.ts sets it.
    overload: { maxEventLoopDelayMs: 0 },
    ...overrides,
  })
  const lines = options.logLines
  const logger = lines ? createLogger('info', { write: (line: string) => lines.push(line) }) : createLogger('silent')
  const services = await composeServices(config, logger, {
    clock,
    ...(options.fetchJwks ? { fetchJwks: options.fetchJwks } : {}),
    ...(options.spanExporter ? { spanExporter: options.spanExporter } : {}),
  })
  const app = await buildApp(services)
  t.teardown(async () => {
    await app.close()
    await services.close()
  })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
  return {
    app,
    services,
    cluster,
    clock,
    databaseUrl,
    admin,
    async createGrant(grant) {
      const response = await app.inject({ method: 'POST', url: '/v1/grants', headers: admin, payload: grant })
      if (response.statusCode !== 201) throw new Error(`grant not created: ${response.statusCode} ${response.body}`)
      return response.json()
    },
    async exchange(params) {
      const response = await app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(params).toString(),
      })
      return { statusCode: response.statusCode, body: response.json(), headers: response.headers }
    },
  }
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
