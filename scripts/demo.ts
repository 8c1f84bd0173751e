import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { stringify as toYaml } from 'yaml'
import { buildApp } from '../src/app.js'
import { composeServices, type Services } from '../src/compose.js'
import { DEVELOPMENT_DEFAULTS, parseConfig, type Config } from '../src/config.js'
import { TOKEN_EXCHANGE_GRANT } from '../src/oauth/grant-types.js'
import { TOKEN_TYPE } from '../src/oauth/token-types.js'
import { createLogger } from '../src/lib/logger.js'
import { createFakeCluster, type FakeCluster } from '../test/support/cluster.js'
import { send, type DemoResponse } from './demo/http.js'
import { LogTap } from './demo/log-tap.js'
import { abbreviate, block, curlFor, print, redacted, registerSecret, say, show, step, type CurlRequest } from './demo/output.js'

/**
 * `npm run demo`: the whole flow of Seed STS on the embedded defaults (PGlite in a temporary
 * directory, revocations in this process, a fresh signing key), over real HTTP, explained step by
 * step. It also checks every answer, so a broken flow makes it exit non-zero. DATABASE_URL, REDIS_URL
 * and STS_CONFIG are deliberately ignored: the demo builds its own configuration.
 */

const CLUSTER_NAME = 'demo'
/** What kube-apiserver's `--service-account-issuer` would be set to. */
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'
const AUDIENCE = 'ledger-api'

interface Running {
  config: Config
  services: Services
  address: string
  adminToken: string
}

async function main(): Promise<void> {
  const started = Date.now()
  const workDir = mkdtempSync(join(tmpdir(), 'seed-sts-demo-'))
  let app: FastifyInstance | undefined
  try {
    print('Seed STS demo: a Kubernetes workload trades its service-account token for a short-lived, scoped access token.')
    print(`Everything lives in ${workDir} and is removed at the end.`)

    const cluster = await createCluster()
    const tap = new LogTap()
    const running = await startService(cluster, workDir, tap, (instance) => (app = instance))
    await createGrant(running, tap)
    const serviceAccountToken = await mintServiceAccountToken(cluster, running.config, 'payments')
    const accessToken = await exchange(running, serviceAccountToken, tap)
    const jti = await verifyAccessToken(running, accessToken)
    await showLedgerEntry(running, jti)
    await showRefusals(running, cluster, serviceAccountToken)

    step(8, 'Done', 'Closing the service (HTTP server, PGlite, revocation store) and removing the temporary directory.')
  } finally {
    await app?.close()
    rmSync(workDir, { recursive: true, force: true })
  }
  say(
    `Finished in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: README.md, and docker-compose.yml for two replicas on Postgres and Redis.`,
  )
}

async function createCluster(): Promise<FakeCluster> {
  step(
    1,
    'A Kubernetes cluster and its service-account signing key',
    'kube-apiserver signs every service-account token with its own private key (RS256, as here) and publishes',
    'the public half as a JWKS at <issuer>/openid/v1/jwks. We stand in for a cluster whose issuer is',
    `${CLUSTER_ISSUER}. Its JWKS (public, safe to share):`,
  )
  // New uids and a jti in every token, as the pods of a real cluster have.
  const cluster = await createFakeCluster({ name: CLUSTER_NAME, issuer: CLUSTER_ISSUER, algorithm: 'RS256', ids: 'unique' })
  show(shortenModulus(cluster.jwks))
  say('(the 2048-bit modulus "n" is shortened here; the service is given it whole)')
  return cluster
}

async function startService(cluster: FakeCluster, workDir: string, tap: LogTap, started: (app: FastifyInstance) => void): Promise<Running> {
  step(
    2,
    'Start the real service, trusting that cluster',
    'The same parts `npm start` uses (parseConfig -> composeServices -> buildApp -> listen), on the embedded',
    'defaults: no DATABASE_URL (PGlite), no REDIS_URL (revocations in this process), a new signing key.',
    'The configuration, as it would appear in an STS_CONFIG file:',
  )
  const adminToken = registerSecret(randomBytes(32).toString('base64url'))
  const fileContents = {
    ...DEVELOPMENT_DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    database: { dataDir: join(workDir, 'ledger') },
    keys: { dir: join(workDir, 'keys') },
    attestors: [{ kind: 'kubernetes', name: CLUSTER_NAME, issuer: cluster.issuer, algorithms: ['RS256'], jwks: cluster.jwks }],
  }
  block(toYaml({ ...fileContents, attestors: [{ ...fileContents.attestors[0], jwks: shortenModulus(cluster.jwks) }] }))
  say(`plus STS_ADMIN_TOKEN=${abbreviate(adminToken)} (random for this run). A real cluster is usually given as`)
  say('`jwksUri: https://<api-server>/openid/v1/jwks` instead of an inline JWKS: see deploy/compose-config.yaml.')

  const config = parseConfig({ ...fileContents, admin: { token: adminToken } })
  const services = await composeServices(config, createLogger('info', tap.stream))
  let app: FastifyInstance
  try {
    app = await buildApp(services)
  } catch (error) {
    await services.close()
    throw error
  }
  app.addHook('onClose', async () => services.close())
  started(app)
  const address = await app.listen({ host: config.host, port: config.port })
  tap.showNew('What the service logged while starting (note the warnings about the embedded defaults):')
  const ready = await send({ method: 'GET', url: `${address}/readyz` })
  say(`GET ${address}/readyz -> ${ready.status} ${JSON.stringify(ready.body)}`)
  return { config, services, address, adminToken }
}

async function createGrant({ config, address, adminToken }: Running, tap: LogTap): Promise<void> {
  step(
    3,
    'Create a grant (admin API)',
    'Nothing is allowed until a grant says so. A grant names workload identities (a SPIFFE ID, globs allowed),',
    'the audiences they may get tokens for, the scopes, the longest token lifetime and an owner to ask.',
  )
  const request: CurlRequest = {
    method: 'POST',
    url: `${address}/v1/grants`,
    headers: { authorization: `Bearer ${adminToken}` },
    json: {
      subject: `spiffe://${config.trustDomain}/k8s/${CLUSTER_NAME}/ns/payments/sa/api`,
      audiences: [AUDIENCE],
      scopes: ['ledger:read', 'ledger:write'],
      maxTtlSeconds: 600,
      owner: 'team-payments',
      description: 'The payments API reads and writes the ledger.',
    },
  }
  showResponse(request, expect(await send(request), 201))
  tap.showNew('The service logged:')
}

async function mintServiceAccountToken(cluster: FakeCluster, config: Config, namespace: string): Promise<string> {
  return registerSecret(await cluster.serviceAccountToken({ namespace, serviceAccount: 'api', audience: [config.audience] }))
}

async function exchange(running: Running, serviceAccountToken: string, tap: LogTap): Promise<string> {
  step(
    4,
    'A pod exchanges its projected service-account token (RFC 8693 token exchange)',
    'The kubelet mounts a short-lived token into the pod of ns/payments/sa/api (a serviceAccountToken volume',
    `with audience "${running.config.audience}", the STS's own audience). The token is ${abbreviate(serviceAccountToken)} and says:`,
  )
  show(decodeProtectedHeader(serviceAccountToken), 'header:')
  show(decodeJwt(serviceAccountToken), 'claims:')
  say('The pod posts it to the token endpoint, naming the service it wants to call and what it wants to do:')
  const request = tokenRequest(running.address, serviceAccountToken, 'ledger:read')
  const response = expect(await send(request), 200)
  const accessToken = response.body.access_token
  if (typeof accessToken !== 'string') throw new Error('the token response has no access_token')
  registerSecret(accessToken)
  showResponse(request, response)
  tap.showNew('The service logged the issue (never the token itself):')
  return accessToken
}

async function verifyAccessToken({ config, address }: Running, accessToken: string): Promise<string> {
  step(
    5,
    'What the access token says, and how the ledger API checks it',
    'An RFC 9068 JWT access token signed with the STS key. A resource server fetches the STS JWKS once (and',
    'again when it meets a new kid) and verifies issuer, audience, type and expiry locally: no call per request.',
  )
  show(decodeProtectedHeader(accessToken), 'header:')
  show(decodeJwt(accessToken), 'claims:')
  const metadata = await send({ method: 'GET', url: `${address}/.well-known/openid-configuration` })
  say(
    `Discovery (/.well-known/openid-configuration) names issuer ${String(metadata.body.issuer)} and jwks_uri ${String(metadata.body.jwks_uri)}.`,
  )
  say(`(The issuer is a name from the configuration: this run keeps the development default and listens on ${address}.)`)
  const jwks = expect(await send({ method: 'GET', url: `${address}/.well-known/jwks.json` }), 200).body as { keys: JWK[] }
  show(jwks, `GET ${address}/.well-known/jwks.json:`)
  const { payload, protectedHeader } = await jwtVerify(accessToken, createLocalJWKSet(jwks), {
    issuer: config.issuer,
    audience: AUDIENCE,
    typ: 'at+jwt',
    algorithms: [config.keys.algorithm],
  })
  say(`jose jwtVerify: signature valid with kid ${String(protectedHeader.kid)}; iss, aud "${AUDIENCE}", typ at+jwt and exp all check out.`)
  return String(payload.jti)
}

async function showLedgerEntry({ services }: Running, jti: string): Promise<void> {
  step(
    6,
    'The ledger entry',
    'Every issued token is recorded before it is handed out (no record, no token). Responders find here who got',
    'which token, on which grants, from which cluster, node and pod. The token and the attestation are never',
    'stored: the fingerprint is the SHA-256 of the attestation. From the ledger store, for jti ' + jti + ':',
  )
  const entry = await services.ledger.get(jti)
  if (entry === undefined) throw new Error(`the ledger has no entry for jti ${jti}`)
  show(entry)
}

async function showRefusals(running: Running, cluster: FakeCluster, serviceAccountToken: string): Promise<void> {
  step(7, 'Refusals', 'Deny by default, and say why. (a) The same workload asks for a scope its grant does not give:')
  const overreach = tokenRequest(running.address, serviceAccountToken, 'ledger:admin')
  showResponse(overreach, expect(await send(overreach), 400, 'invalid_scope'))

  print()
  say('(b) A workload of another namespace (ns/billing/sa/api), with a perfectly valid token of the same cluster:')
  const otherToken = await mintServiceAccountToken(cluster, running.config, 'billing')
  const stranger = tokenRequest(running.address, otherToken, 'ledger:read')
  showResponse(stranger, expect(await send(stranger), 400, 'invalid_grant'))
}

function tokenRequest(address: string, subjectToken: string, scope: string): CurlRequest {
  return {
    method: 'POST',
    url: `${address}/oauth2/token`,
    form: {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPE.jwt,
      audience: AUDIENCE,
      scope,
    },
  }
}

function showResponse(request: CurlRequest, response: DemoResponse): void {
  block(curlFor(request), 'curl equivalent (secrets shortened):')
  show(response.body, `-> HTTP ${response.status}`)
}

/** The demo checks what it shows: an unexpected answer stops it with a non-zero exit. */
function expect(response: DemoResponse, status: number, error?: string): DemoResponse {
  if (response.status !== status || (error !== undefined && response.body.error !== error)) {
    throw new Error(`expected HTTP ${status}${error ? ` ${error}` : ''}, got ${response.status} ${JSON.stringify(redacted(response.body))}`)
  }
  return response
}

/** For display only: an RSA modulus is 342 characters of noise to a reader. */
function shortenModulus(jwks: { keys: JWK[] }): { keys: JWK[] } {
  return { keys: jwks.keys.map((key) => (key.n ? { ...key, n: `${key.n.slice(0, 16)}…(${key.n.length} chars)` } : key)) }
}

main().catch((error: unknown) => {
  process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
