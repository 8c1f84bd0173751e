import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { createTestCluster, STS_AUDIENCE } from './cluster.js'
import { eventually } from './eventually.js'
import { freePort } from './ports.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from './servers.js'

/** The service as it is started in production: the compiled server, a config file, signals. */
export const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname
export const ADMIN_TOKEN = 'server-test-admin-token-0123456789'
export const TEST_KEY_ENCRYPTION_KEY = Buffer.alloc(32, 5).toString('base64')

export interface Started {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<number | null>
}

export async function start(t: Test, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-server-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sts.json')
  writeFileSync(file, JSON.stringify({ keys: { dir: join(dir, 'keys') }, ...config }))
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER, '--config', file], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      STS_ADMIN_TOKEN: ADMIN_TOKEN,
      // Every start of a test shares it: two instances on one database must.
      STS_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited }
}

export async function ready(t: Test, started: Started): Promise<void> {
  const answered = await eventually(
    t,
    async () => {
      if (started.child.exitCode !== null) throw new Error(`the service exited: ${started.output()}`)
      return fetch(`${started.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    },
    { intervalMs: 100, timeoutMs: 20_000, what: 'the service answers /readyz' },
  )
  if (!answered) throw new Error(`the service did not become ready: ${started.output()}`)
}

export async function exchangeOnce(t: Test, started: Started, cluster: Awaited<ReturnType<typeof createTestCluster>>): Promise<void> {
  const grant = await fetch(`${started.url}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'spiffe://example.org/k8s/prod/**', audiences: ['ledger-api'], owner: 'team-payments' }),
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
      attestors: [{ kind: 'kubernetes', name: 'prod', issuer: cluster.issuer, jwks: cluster.jwks }],
    },
  }
}
