import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { TOKEN_EXCHANGE_GRANT } from '../../src/oauth/grant-types.js'
import { TOKEN_TYPE } from '../../src/oauth/token-types.js'
import type { LoadTarget } from './load.js'
import { BENCH_CLUSTER_NAME, type BenchWorkload } from './workloads.js'

/** What the bench asks of the service over HTTP: the grant the workloads need, and their exchanges. */

export const BENCH_TRUST_DOMAIN = 'bench.example'
export const TARGET_AUDIENCE = 'ledger-api'
export const SCOPE = 'ledger:read'

/** Every workload of the bench cluster may get `ledger:read` for the ledger API: the grant each exchange is decided by. */
export const BENCH_GRANT = {
  subject: `spiffe://${BENCH_TRUST_DOMAIN}/k8s/${BENCH_CLUSTER_NAME}/ns/*/sa/*`,
  audiences: [TARGET_AUDIENCE],
  scopes: [SCOPE, 'ledger:write'],
  maxTtlSeconds: 600,
  owner: 'bench',
  description: 'npm run bench',
} as const

export async function createGrant(baseUrl: string, adminToken: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(BENCH_GRANT),
  })
  if (response.status !== 201)
    throw new Error(`the grant was not created: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`)
}

/** The RFC 8693 form body a workload posts to /oauth2/token. */
export function exchangeBody(subjectToken: string): Buffer {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.jwt,
    audience: TARGET_AUDIENCE,
    scope: SCOPE,
  })
  return Buffer.from(form.toString())
}

/** The load generator's target: every workload's exchange, round-robin, at the service's token endpoint. */
export function exchangeTarget(baseUrl: string, workloads: readonly BenchWorkload[]): LoadTarget {
  const { hostname, port } = new URL(baseUrl)
  return {
    host: hostname,
    port: Number(port),
    path: '/oauth2/token',
    contentType: 'application/x-www-form-urlencoded',
    bodies: workloads.map((w) => exchangeBody(w.token)),
  }
}

export function subjectOf(workload: BenchWorkload): string {
  return `spiffe://${BENCH_TRUST_DOMAIN}/k8s/${BENCH_CLUSTER_NAME}/ns/${workload.namespace}/sa/${workload.serviceAccount}`
}

/**
 * One exchange checked end to end before any load (status, signature against the published JWKS,
 * subject, scope): a benchmark of refusals would be worthless. Returns the request id it sent.
 */
export async function preflight(baseUrl: string, issuer: string, workload: BenchWorkload): Promise<string> {
  const requestId = 'bench-preflight'
  const response = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
    body: exchangeBody(workload.token),
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`the pre-flight exchange was answered HTTP ${response.status}: ${text.slice(0, 300)}`)
  const { access_token: accessToken } = JSON.parse(text) as { access_token?: string }
  const jwks = (await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet
  const { payload } = await jwtVerify(accessToken ?? '', createLocalJWKSet(jwks), { issuer, audience: TARGET_AUDIENCE, typ: 'at+jwt' })
  if (payload.sub !== subjectOf(workload) || payload.scope !== SCOPE) {
    throw new Error(
      `the pre-flight token says sub ${JSON.stringify(payload.sub)} scope ${JSON.stringify(payload.scope)}, expected ${subjectOf(workload)} ${SCOPE}`,
    )
  }
  return requestId
}
