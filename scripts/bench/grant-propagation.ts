import { performance } from 'node:perf_hooks'
import { TOKEN_EXCHANGE_GRANT } from '../../src/oauth/grant-types.js'
import { TOKEN_TYPE } from '../../src/oauth/token-types.js'
import { KeepAliveClient, type Answer } from './keep-alive-client.js'

/**
 * How long a grant change takes to reach another instance: a grant is created through the admin API
 * of one instance (A) for an audience nothing else grants, and the other instance (B), which hears of
 * it only through the grant change feed, is asked for a token for that audience until it issues one;
 * then the grant is disabled through A and B is asked until it refuses again. The clock starts when
 * A's answer arrives (201, then 200), because that is when an operator believes the change is made.
 *
 * Each poll is a full exchange on B, one in flight on a keep-alive connection: a round decided at its
 * first poll measures one exchange round trip, an upper bound on the propagation.
 */

export interface GrantPropagationTarget {
  subject: string
  /** The workload's attestation (its projected service-account token). */
  token: string
}

export interface GrantPropagationRun {
  /** Instance A: where grants are created and disabled. */
  writerUrl: string
  /** Instance B: where exchanges are polled. */
  otherUrl: string
  adminToken: string
  targets: readonly GrantPropagationTarget[]
  rounds: number
  /** A round fails the bench if B has not followed the change within this. */
  timeoutMs?: number
}

export interface GrantPropagation {
  rounds: number
  /** Per round: from A's 201 to B's first token for the new audience. */
  createMs: Float64Array
  /** Per round: from A's answer to the disable to B's first refusal. */
  disableMs: Float64Array
  /** Changes B had already followed at its first poll after A's answer. */
  followedAtFirstPoll: number
  elapsedSeconds: number
}

export async function measureGrantPropagation(run: GrantPropagationRun): Promise<GrantPropagation> {
  const timeoutMs = run.timeoutMs ?? 5000
  const writer = new KeepAliveClient(run.writerUrl, timeoutMs)
  const other = new KeepAliveClient(run.otherUrl, timeoutMs)
  const admin = { authorization: `Bearer ${run.adminToken}` }
  const created: number[] = []
  const disabled: number[] = []
  let followedAtFirstPoll = 0
  const started = performance.now()
  try {
    for (let round = 0; round < run.rounds; round++) {
      const target = run.targets[round % run.targets.length]
      // An audience of its own: only this round's grant can give it.
      const audience = `grant-propagation-${process.pid}-${round}`
      const body = exchangeBody(target.token, audience)
      let poll = 0
      const exchange = () => other.call('POST', '/oauth2/token', { 'x-request-id': `bench-grants-${round}-${poll++}` }, body, FORM)
      const awaitOn = async (wanted: 'issued' | 'refused', since: Answer, what: string): Promise<number> => {
        for (let polls = 0; ; polls++) {
          const answer = await exchange()
          const outcome = answer.status === 200 ? 'issued' : isNotGranted(answer) ? 'refused' : undefined
          if (outcome === undefined)
            throw new Error(`round ${round}: instance B answered HTTP ${answer.status} ${what}: ${answer.body.slice(0, 300)}`)
          if (outcome === wanted) {
            if (polls === 0) followedAtFirstPoll++
            return answer.at - since.at
          }
          if (answer.at - since.at > timeoutMs)
            throw new Error(`round ${round}: instance B had not followed the grant ${what} ${timeoutMs / 1000} s after instance A answered`)
        }
      }

      const before = await exchange()
      if (!isNotGranted(before))
        throw new Error(
          `round ${round}: instance B did not refuse ${audience} before its grant: HTTP ${before.status} ${before.body.slice(0, 300)}`,
        )
      const create = await writer.call(
        'POST',
        '/v1/grants',
        admin,
        json({
          subject: target.subject,
          audiences: [audience],
          scopes: ['read'],
          owner: 'bench',
          description: `npm run bench: round ${round}`,
        }),
      )
      if (create.status !== 201)
        throw new Error(`round ${round}: the grant was answered HTTP ${create.status}: ${create.body.slice(0, 300)}`)
      created.push(await awaitOn('issued', create, 'created'))

      const id = (JSON.parse(create.body) as { id: string }).id
      const disable = await writer.call('DELETE', `/v1/grants/${id}`, admin, Buffer.alloc(0))
      if (disable.status !== 200)
        throw new Error(`round ${round}: disabling grant ${id} was answered HTTP ${disable.status}: ${disable.body.slice(0, 300)}`)
      disabled.push(await awaitOn('refused', disable, 'disabled'))
    }
  } finally {
    writer.close()
    other.close()
  }
  return {
    rounds: run.rounds,
    createMs: Float64Array.from(created),
    disableMs: Float64Array.from(disabled),
    followedAtFirstPoll,
    elapsedSeconds: (performance.now() - started) / 1000,
  }
}

/** The refusal an audience no grant gives gets (RFC 8693 §2.2.2): anything else is a failure. */
function isNotGranted(answer: Answer): boolean {
  if (answer.status !== 400) return false
  try {
    return (JSON.parse(answer.body) as { error_reason?: unknown }).error_reason === 'audience_not_granted'
  } catch {
    return false
  }
}

function exchangeBody(subjectToken: string, audience: string): Buffer {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.jwt,
    audience,
  })
  return Buffer.from(form.toString())
}

const FORM = 'application/x-www-form-urlencoded'

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}
