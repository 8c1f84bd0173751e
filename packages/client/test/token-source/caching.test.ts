import t from 'tap'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { issued } from '../support/sts-stand-in.js'
import { harness, T0, TOKEN_EXCHANGE } from './setup.js'

t.test('the first call exchanges the attestation; the next ones get the cached token', async (t) => {
  const { source, sts } = harness(t, () => issued(300, { scope: 'ledger:read ledger:write' }))
  const first = await source.accessToken({ audience: 'ledger-api', scope: 'ledger:write ledger:read' })
  t.same(sts.calls[0]?.form, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: 'attestation-1',
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'ledger-api',
    scope: 'ledger:read ledger:write',
  })
  t.match(first, { tokenType: 'Bearer', scope: 'ledger:read ledger:write', expiresAt: new Date(T0 + 300_000) })
  t.equal(
    await source.token({ audience: 'ledger-api', scope: ['ledger:read', 'ledger:write'] }),
    first.token,
    'scopes in another order, as a list',
  )
  t.equal(
    await source.token({ audience: 'ledger-api', scope: ' ledger:write  ledger:read ledger:read' }),
    first.token,
    'spaces and repeats',
  )
  t.equal(sts.calls.length, 1)

  const other = await source.token({ audience: 'ledger-api', scope: 'ledger:read' })
  t.not(other, first.token, 'another scope is another token')
  const noScope = await source.token({ audience: 'ledger-api' })
  t.same(sts.calls[2]?.form, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: 'attestation-1',
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'ledger-api',
  })
  const nothing = await source.token()
  t.same(
    sts.calls[3]?.form,
    { grant_type: TOKEN_EXCHANGE, subject_token: 'attestation-1', subject_token_type: JWT_TOKEN_TYPE },
    'the STS picks the one audience',
  )
  t.equal(new Set([first.token, other, noScope, nothing]).size, 4)
  t.equal(sts.calls.length, 4)
})

t.test('callers who arrive while a token is being fetched wait for that one request (single flight)', async (t) => {
  let release: (response: Response) => void = () => {}
  const { source, sts } = harness(t, () => new Promise<Response>((resolve) => (release = resolve)))
  const callers = Array.from({ length: 20 }, () => source.token({ audience: 'ledger-api' }))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(sts.calls.length, 1, 'one request for twenty callers')
  release(issued())
  const tokens = await Promise.all(callers)
  t.equal(new Set(tokens).size, 1)
  t.equal(sts.calls.length, 1)
})

t.test('a token is refreshed in the background at 80 % of its lifetime, give or take its jitter', async (t) => {
  for (const [random, at] of [
    [0.5, 240_000],
    [0, 225_000],
    [0.75, 247_500],
  ] as const) {
    const { source, sts, time, callTimes } = harness(t, () => issued(300), { random: () => random })
    const first = await source.token({ audience: 'ledger-api' })
    await time.advance(at - 1)
    t.equal(sts.calls.length, 1, `not refreshed before ${at} ms (random ${random})`)
    await time.advance(1)
    t.same(callTimes(), [0, at], `refreshed at ${at} ms`)
    const second = await source.token({ audience: 'ledger-api' })
    t.not(second, first, 'the refreshed token is handed out')
    t.equal(sts.calls.length, 2)
  }
})

t.test('a token is never handed out in its last 10 s (or last tenth of life), and never expired', async (t) => {
  let up = true
  let lifetime = 300
  const answer = () => {
    if (up) return issued(lifetime)
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:8080') })
  }
  const { source, time, callTimes } = harness(t, answer)
  const first = await source.token({ audience: 'ledger-api' })
  up = false
  await time.advance(289_999)
  t.equal(await source.token({ audience: 'ledger-api' }), first, 'handed out while it has more than 10 s to live')
  t.same(
    callTimes(),
    [0, 240_000, 240_500, 241_500, 243_500, 247_500, 255_500, 270_500, 285_500],
    'the background refresh backed off (0.5, 1, 2, 4, 8, 15, 15 s) and stopped when the token could no longer be handed out',
  )

  await time.advance(1)
  const late = source.token({ audience: 'ledger-api' })
  late.catch(() => {})
  await time.advance(31_000)
  await t.rejects(late, {
    name: 'StsError',
    error: 'temporarily_unavailable',
    description: 'the STS did not answer: fetch failed: connect ECONNREFUSED 127.0.0.1:8080',
    status: undefined,
  })

  // A token of 30 s keeps its last 3 s (a tenth), not 10 s.
  up = true
  lifetime = 30
  const short = harness(t, answer)
  const token = await short.source.token()
  up = false
  await short.time.advance(26_999)
  t.equal(await short.source.token(), token)
  await short.time.advance(1)
  const next = short.source.token()
  next.catch(() => {})
  await short.time.advance(31_000)
  await t.rejects(next, { name: 'StsError', error: 'temporarily_unavailable' }, 'not handed out with 3 s left')
})
