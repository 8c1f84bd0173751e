import type { Test } from 'tap'
import { createTestCluster, STS_AUDIENCE } from './cluster.js'
import { serverReady, startServerProcess, type ServerProcess } from './server-process.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from './servers.js'

/** What every compiled server these tests start (server.test.ts, metrics-port.test.ts) is given. */
export const ADMIN_TOKEN = 'server-test-admin-token-0123456789'
export const TEST_KEY_ENCRYPTION_KEY = Buffer.alloc(32, 5).toString('base64')
export const TEST_SOURCE_HASH_KEY = Buffer.alloc(32, 6).toString('base64')

/** A started server: the process, its address, what it wrote (test/support/server-process.ts). */
export type Started = ServerProcess

/** The compiled server with the admin token and key-encryption key these tests share, logging at info. */
export function start(t: Test, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Started> {
  return startServerProcess(t, config, {
    LOG_LEVEL: 'info',
    STS_ADMIN_TOKEN: ADMIN_TOKEN,
    // Every start of a test shares it: two instances on one database must.
    STS_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
    STS_SOURCE_HASH_KEY: TEST_SOURCE_HASH_KEY,
    ...env,
  })
}

export const ready = serverReady

export async function exchangeOnce(t: Test, started: Started, cluster: Awaited<ReturnType<typeof createTestCluster>>): Promise<void> {
  const grant = await fetch(`${started.url}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
      audiences: ['ledger-api'],
      owner: 'team-payments',
    }),
  })
  t.equal(grant.status, 201)
  const response = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await cluster.serviceAccountToken(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  })
  t.equal(response.status, 200, 'a token is issued')
}

export async function baseConfig(t: Test) {
  const cluster = await createTestCluster('prod')
  return {
    cluster,
    config: {
      issuer: 'https://sts.test.example',
      trustDomain: 'example.org',
      audience: STS_AUDIENCE,
      database: { url: await freshPostgresDatabase(t) },
      redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() },
      // A shared database needs it; in the file, so a test that passes its own environment has it too.
      tokens: { sourceHashKey: TEST_SOURCE_HASH_KEY },
      attestors: [{ kind: 'kubernetes', name: 'prod', issuer: cluster.issuer, jwks: cluster.jwks }],
    },
  }
}
