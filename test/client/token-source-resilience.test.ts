import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { fileAttestation, tokenSource, type TokenSource, type TokenSourceEvent } from '../../packages/client/src/index.js'
import { FakeTime, seededRandom } from '../../packages/client/test/support/fake-time.js'
import { startListeningService, type ListeningService } from '../support/listening-service.js'
import { startOutageProxy } from '../support/outage-proxy.js'
import { TRUST_DOMAIN } from '../support/service.js'

/**
 * The token source against the real service (real Postgres and Redis), hours of it on fake time: the
 * source's clock and timers and the service's clock move together. The workload presents a projected
 * token that a stand-in kubelet rewrites in its file at 80 % of its 10 minutes, signed by the test's
 * cluster. What is asserted is what a workload and the STS would notice: at every moment the token
 * handed out is one the STS says is active, and how many requests reached the STS.
 */

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const REQUEST = { audience: 'ledger-api', scope: 'ledger:read' }
const STEP_MS = 10_000

interface Workload {
  service: ListeningService
  time: FakeTime
  source: TokenSource
  events: TokenSourceEvent[]
  /** Fake milliseconds (since the start) of each request that left for the STS. */
  requests: number[]
  /** Runs `ms` of fake time in steps, the kubelet rotating the projected token when due. */
  run(ms: number, eachStep?: () => Promise<void>): Promise<void>
  /** Asks the source for its token and checks with the STS (introspection) that it is active now. */
  assertValidToken(t: Test, what: string): Promise<string>
}

async function workload(t: Test, options: { through?: (service: ListeningService) => Promise<string> } = {}): Promise<Workload> {
  const service = await startListeningService(t)
  await service.sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const started = service.sts.clock.now()
  const time = new FakeTime(started, (now) => service.sts.clock.set(now))
  const dir = mkdtempSync(join(tmpdir(), 'sts-kubelet-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'sts-token')
  let rotatedAt = -Infinity
  const kubelet = async () => {
    if (time.now() - rotatedAt < 480_000) return
    rotatedAt = time.now()
    const token = await service.sts.cluster.serviceAccountToken({ issuedAt: Math.floor(rotatedAt / 1000), lifetimeSeconds: 600 })
    writeFileSync(`${path}.tmp`, token)
    renameSync(`${path}.tmp`, path)
  }
  await kubelet()
  const requests: number[] = []
  const counted: typeof globalThis.fetch = (input, init) => {
    requests.push(time.now() - started)
    return fetch(input, init)
  }
  const file = fileAttestation({ path })
  const events: TokenSourceEvent[] = []
  const source = tokenSource({
    sts: options.through ? await options.through(service) : service.url,
    attestation: { kind: file.kind, subjectToken: (context) => time.track(file.subjectToken(context)) },
    clock: time,
    timers: time,
    random: seededRandom(12),
    fetch: time.trackedFetch(counted),
    onEvent: (event) => events.push(event),
    // Real time, unlike the rest: a busy test machine must not turn a slow answer into a retry.
    requestTimeoutMs: 60_000,
  })
  t.teardown(() => source.close())
  return {
    service,
    time,
    source,
    events,
    requests,
    async run(ms, eachStep) {
      for (let elapsed = 0; elapsed < ms; elapsed += STEP_MS) {
        await kubelet()
        await time.advance(STEP_MS)
        await eachStep?.()
      }
    },
    async assertValidToken(t, what) {
      const token = await source.token(REQUEST)
      const introspected = await service.sts.app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        headers: { ...service.sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      })
      const body = introspected.json()
      if (body.active !== true || body.sub !== SUBJECT || body.exp * 1000 <= time.now())
        t.fail(`${what}: the token handed out is not active: ${JSON.stringify(body)}`)
      return token
    },
  }
}

t.test('a token source keeps a valid token through ten refreshes, one request each', async (t) => {
  const w = await workload(t)
  const seen = new Set([await w.assertValidToken(t, 'the first token')])
  await w.run(2_600_000, async () => {
    seen.add(await w.assertValidToken(t, `at ${w.time.now()}`))
  })
  t.equal(seen.size, 11, 'ten refreshed tokens after the first, each handed out')
  t.equal(w.requests.length, 11, 'and one request for each')
  const gaps = w.requests.slice(1).map((at, index) => at - (w.requests[index] ?? 0))
  t.ok(
    gaps.every((gap) => gap >= 225_000 && gap <= 255_000),
    `each refresh 75–85 % into its token's 300 s (${gaps.map((gap) => gap / 1000).join(', ')} s)`,
  )
  t.same(
    w.events.map((event) => event.type),
    Array(11).fill('issued'),
  )
})

t.test('a token source keeps a valid token through an STS restart, and refreshes once it is back', async (t) => {
  const w = await workload(t)
  const first = await w.assertValidToken(t, 'before the restart')
  const refreshAt = (w.time.pending().next ?? 0) - w.time.now()
  await w.run(refreshAt - STEP_MS)
  t.equal(w.requests.length, 1)

  await w.service.stop()
  await w.run(40_000, async () => {
    t.equal(await w.source.token(REQUEST), first, 'the held token is handed out while the STS is down')
  })
  const whileDown = w.requests.length - 1
  // Waits uniform under a doubling step (1, 2, 4, 8, 16, 30 s): about seven tries in 40 s, where a
  // loop without backoff would send thousands.
  t.ok(whileDown >= 3 && whileDown <= 8, `backed off while it was down: ${whileDown} requests in 40 s`)
  t.ok(
    w.events.slice(1).every((event) => event.type === 'retrying'),
    'connection refused, retrying',
  )

  await w.service.start()
  await w.run(30_000)
  const refreshed = await w.assertValidToken(t, 'after the restart')
  t.not(refreshed, first, 'refreshed from the restarted STS')
  t.equal(w.requests.length, whileDown + 2, 'one more request, the one that succeeded')
  await w.run(600_000, async () => void (await w.assertValidToken(t, 'afterwards')))
  t.ok(w.requests.length <= whileDown + 5, 'and back to one refresh every four minutes or so')
})

t.test('a token source keeps a valid token through 30 s of 503s, without a storm of requests', async (t) => {
  let proxy: Awaited<ReturnType<typeof startOutageProxy>> | undefined
  const w = await workload(t, {
    through: async (service) => {
      proxy = await startOutageProxy(t, () => service.url)
      return proxy.url
    },
  })
  const first = await w.assertValidToken(t, 'before the outage')
  const refreshAt = (w.time.pending().next ?? 0) - w.time.now()
  await w.time.advance(refreshAt - 1)
  proxy!.down = true
  const outageStart = w.requests.length
  await w.time.advance(1)
  for (let elapsed = 0; elapsed < 30_000; elapsed += 1_000) {
    t.equal(await w.source.token(REQUEST), first)
    await w.time.advance(1_000)
  }
  const during = w.requests.length - outageStart
  // Full jitter under a doubling step (1, 2, 4, 8, 16 s): about five tries in 30 s, never dozens.
  t.ok(during >= 3 && during <= 7, `${during} requests during 30 s of 503s`)
  t.ok(
    w.events
      .slice(1)
      .every(
        (event) =>
          event.type === 'retrying' && 'error' in event && event.error.message === 'temporarily_unavailable: the ledger cannot be reached',
      ),
    'each 503 was heard as such',
  )
  proxy!.down = false
  await w.time.advance(30_000)
  t.equal(w.requests.length, outageStart + during + 1, 'the first try after the outage got the token')
  t.not(await w.assertValidToken(t, 'after the outage'), first)
})

t.test('a token source stops refreshing on invalid_grant: one refused request, then nothing until asked', async (t) => {
  const w = await workload(t)
  const first = await w.assertValidToken(t, 'before the revocation')
  const revoked = await w.service.sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: w.service.sts.admin,
    payload: { kind: 'subject', value: SUBJECT, reason: 'incident 4711' },
  })
  t.equal(revoked.statusCode, 201, revoked.body)
  await w.run(7_200_000)
  t.equal(w.requests.length, 2, 'one refresh was refused; none after it in two hours')
  t.match(w.events, [{ type: 'issued' }, { type: 'refused', error: { error: 'invalid_grant', reason: 'revoked' } }])
  t.equal(w.events.length, 2)

  const error = await w.source.token(REQUEST).catch((caught: unknown) => caught)
  t.match(error, {
    name: 'StsError',
    error: 'invalid_grant',
    reason: 'revoked',
    status: 400,
    description: `the identity ${SUBJECT} is revoked`,
  })
  t.equal(w.requests.length, 3, 'an explicit call after the cool-down tries once more')
  await t.rejects(w.source.token(REQUEST), { name: 'StsError', error: 'invalid_grant' })
  t.equal(w.requests.length, 3, 'within the cool-down, not even that')
  t.not(first, undefined)
})
