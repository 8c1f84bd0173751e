import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { composeServices, type Services } from '../../src/compose.js'
import { loadConfig, type ConfigSource } from '../../src/config.js'
import type { JwksFetcher } from '../../src/jose/jwks-fetcher.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { createFakeCluster, STS_AUDIENCE, type FakeCluster } from './cluster.js'
import { ADMIN_TOKEN, ISSUER, JWT_TOKEN_TYPE, NOW, TOKEN_EXCHANGE, TRUST_DOMAIN } from './service.js'

/**
 * A service started from a configuration file, as the server starts (src/server.ts), so a test can
 * change the file and reload: the file is the one a reload reads again.
 */
export interface FileService {
  app: FastifyInstance
  services: Services
  /** The configuration file and environment (none: the test's own must not leak in). */
  source: ConfigSource
  /** Every log line, parsed. */
  logs: Record<string, unknown>[]
  /** Replaces the configuration file with `config` (JSON). */
  write(config: Record<string, unknown>): void
  /** `issued`, or the `error_reason` of the refusal. */
  exchange(token: string): Promise<string>
  /** The whole answer of a token exchange. */
  exchangeAnswer(token: string): Promise<{ statusCode: number; body: Record<string, unknown> }>
}

export interface FileServiceOptions {
  fetchJwks?: JwksFetcher
}

/** The two clusters of the reload tests: `prod` and `staging`, each its own issuer and key. */
export async function twoClusters(): Promise<{ prod: FakeCluster; staging: FakeCluster }> {
  const now = () => Math.floor(NOW / 1000)
  return {
    prod: await createFakeCluster({ name: 'prod', issuer: 'https://prod.kubernetes.test.example', now }),
    staging: await createFakeCluster({ name: 'staging', issuer: 'https://staging.kubernetes.test.example', now }),
  }
}

export function attestorOf(cluster: FakeCluster): Record<string, unknown> {
  return { kind: 'kubernetes', name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks }
}

/** A configuration file's content: the test's stores and keys, the attestors given. */
export function fileConfig(stores: Record<string, unknown>, attestors: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return {
    issuer: ISSUER,
    trustDomain: TRUST_DOMAIN,
    audience: STS_AUDIENCE,
    admin: { token: ADMIN_TOKEN },
    ...stores,
    attestors,
    ...extra,
  }
}

export async function startFromFile(t: Test, config: Record<string, unknown>, options: FileServiceOptions = {}): Promise<FileService> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-reload-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sts.json')
  const write = (content: Record<string, unknown>) => writeFileSync(file, JSON.stringify({ keys: { dir: join(dir, 'keys') }, ...content }))
  write(config)
  const source: ConfigSource = {
    file,
    env: { STS_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'), STS_SOURCE_HASH_KEY: Buffer.alloc(32, 6).toString('base64') },
  }
  const logs: Record<string, unknown>[] = []
  const logger = createLogger(loadConfig(source).config.logLevel, { write: (line: string) => logs.push(JSON.parse(line)) })
  const services = await composeServices(loadConfig(source).config, logger, {
    clock: new FixedClock(NOW),
    configSource: source,
    ...(options.fetchJwks ? { fetchJwks: options.fetchJwks } : {}),
  })
  const app = await buildApp(services)
  t.teardown(async () => {
    await app.close()
    await services.close()
  })
  const exchangeAnswer = async (token: string) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TOKEN_TYPE }).toString(),
    })
    return { statusCode: response.statusCode, body: response.json<Record<string, unknown>>() }
  }
  return {
    app,
    services,
    source,
    logs,
    write,
    exchangeAnswer,
    async exchange(token) {
      const { statusCode, body } = await exchangeAnswer(token)
      return statusCode === 200 ? 'issued' : String(body.error_reason)
    },
  }
}

/** The grant every reload test exchanges under: payments/api of any cluster, for `ledger-api`. */
export async function grantEveryCluster(service: FileService): Promise<void> {
  const response = await service.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { subject: `spiffe://${TRUST_DOMAIN}/k8s/*/ns/payments/sa/api`, audiences: ['ledger-api'], owner: 'team-platform' },
  })
  if (response.statusCode !== 201) throw new Error(`grant not created: ${response.statusCode} ${response.body}`)
}
