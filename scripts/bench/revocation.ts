import { performance } from 'node:perf_hooks'
import { KeepAliveClient, type Answer } from './keep-alive-client.js'

/**
 * How long a revocation takes to reach another instance: a subject is revoked through the admin API
 * of one instance (A), and the other instance (B), which hears of it only over Redis pub/sub, is asked
 * for that subject's token until it refuses. The clock starts when A's 201 arrives, because that is
 * when an operator believes the workload is cut off; every token B issues after it is one the
 * operator was told could no longer be issued.
 *
 * Each poll is a full exchange on B (attest, grants, revocation check, sign, ledger), one in flight
 * on a keep-alive connection: a round that is refused at its first poll measures one exchange round
 * trip, an upper bound on the propagation, which may well have finished before A answered.
 */

export interface RevocationSubject {
  subject: string
  /** The RFC 8693 form body that exchanges this subject's attestation. */
  body: Buffer
}

export interface RevocationRun {
  /** Instance A: where revocations are made and lifted. */
  revokerUrl: string
  /** Instance B: where exchanges are polled. */
  otherUrl: string
  adminToken: string
  /** Used in turn, one per round, so no round starts on a subject a previous one touched. */
  targets: readonly RevocationSubject[]
  rounds: number
  /** A round fails the bench if B has not refused (or, after the lift, accepted again) within this. */
  timeoutMs?: number
}

export interface RevocationReach {
  rounds: number
  /** Per round: from A's 201 arriving to B's first refusal arriving. */
  reachMs: Float64Array
  /** Per round: A's answer to the revocation, from sending it. */
  apiMs: Float64Array
  /** Rounds whose first poll after A's answer was already refused. */
  refusedAtFirstPoll: number
  /** 200 answers B gave after A had answered: tokens the API said were cut off. */
  issuedAfterAnswer: number
  /** Rounds with at least one of those. */
  roundsIssuedAfterAnswer: number
  /** All rounds, the lifts and the waits for B to accept again included. */
  elapsedSeconds: number
}

export async function measureRevocationReach(run: RevocationRun): Promise<RevocationReach> {
  const timeoutMs = run.timeoutMs ?? 5000
  const revoker = new KeepAliveClient(run.revokerUrl, timeoutMs)
  const other = new KeepAliveClient(run.otherUrl, timeoutMs)
  const admin = { authorization: `Bearer ${run.adminToken}` }
  const reach: number[] = []
  const api: number[] = []
  const result = { refusedAtFirstPoll: 0, issuedAfterAnswer: 0, roundsIssuedAfterAnswer: 0 }
  const started = performance.now()
  try {
    for (let round = 0; round < run.rounds; round++) {
      const target = run.targets[round % run.targets.length]
      let poll = 0
      const exchange = () =>
        other.call('POST', '/oauth2/token', { 'x-request-id': `bench-revocation-${round}-${poll++}` }, target.body, FORM)

      // B must accept this subject now, or its refusal afterwards would prove nothing.
      const before = await exchange()
      if (before.status !== 200)
        throw new Error(
          `round ${round}: instance B refused ${target.subject} before it was revoked: HTTP ${before.status} ${before.body.slice(0, 300)}`,
        )

      const sent = performance.now()
      const revoked = await revoker.call(
        'POST',
        '/v1/revocations',
        admin,
        json({ kind: 'subject', value: target.subject, reason: `npm run bench: revocation reach, round ${round}` }),
      )
      if (revoked.status !== 201)
        throw new Error(
          `round ${round}: the revocation of ${target.subject} was answered HTTP ${revoked.status}: ${revoked.body.slice(0, 300)}`,
        )
      api.push(revoked.at - sent)
      const id = (JSON.parse(revoked.body) as { revocation: { id: string } }).revocation.id

      let issued = 0
      for (let polls = 0; ; polls++) {
        const answer = await exchange()
        if (isRevokedRefusal(answer, target.subject)) {
          reach.push(answer.at - revoked.at)
          if (polls === 0) result.refusedAtFirstPoll++
          break
        }
        if (answer.status !== 200)
          throw new Error(
            `round ${round}: instance B answered HTTP ${answer.status} while the revocation spread: ${answer.body.slice(0, 300)}`,
          )
        issued++
        if (answer.at - revoked.at > timeoutMs) {
          throw new Error(
            `round ${round}: instance B still issued tokens to ${target.subject} ${timeoutMs / 1000} s after instance A answered the revocation (${issued} tokens)`,
          )
        }
      }
      result.issuedAfterAnswer += issued
      if (issued > 0) result.roundsIssuedAfterAnswer++

      // Lifted, and accepted again on B, before the next round: rounds never overlap.
      const lifted = await revoker.call(
        'DELETE',
        `/v1/revocations/${id}`,
        admin,
        json({ reason: `npm run bench: round ${round} measured` }),
      )
      if (lifted.status !== 200)
        throw new Error(`round ${round}: lifting revocation ${id} was answered HTTP ${lifted.status}: ${lifted.body.slice(0, 300)}`)
      for (;;) {
        const answer = await exchange()
        if (answer.status === 200) break
        if (!isRevokedRefusal(answer, target.subject))
          throw new Error(`round ${round}: instance B answered HTTP ${answer.status} after the lift: ${answer.body.slice(0, 300)}`)
        if (answer.at - lifted.at > timeoutMs)
          throw new Error(
            `round ${round}: instance B still refused ${target.subject} ${timeoutMs / 1000} s after the revocation was lifted`,
          )
      }
    }
  } finally {
    revoker.close()
    other.close()
  }
  const elapsedSeconds = (performance.now() - started) / 1000
  return { rounds: run.rounds, elapsedSeconds, reachMs: Float64Array.from(reach), apiMs: Float64Array.from(api), ...result }
}

/** Exactly the refusal a revoked subject gets (RFC 6749 §5.2): anything else is a failure, not a refusal. */
function isRevokedRefusal(answer: Answer, subject: string): boolean {
  if (answer.status !== 400) return false
  try {
    const body = JSON.parse(answer.body) as { error?: unknown; error_description?: unknown }
    return body.error === 'invalid_grant' && body.error_description === `the identity ${subject} is revoked`
  } catch {
    return false
  }
}

const FORM = 'application/x-www-form-urlencoded'

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}
