import type { Test } from 'tap'
import { tokenSource, type TokenSource, type TokenSourceOptions } from '../../src/token-source/token-source.js'
import type { TokenSourceEvent } from '../../src/token-source/token-slot.js'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { FakeTime } from '../support/fake-time.js'
import { stsStandIn, type StsCall, type StsStandIn } from '../support/sts-stand-in.js'

export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

export interface Harness {
  time: FakeTime
  sts: StsStandIn
  source: TokenSource
  events: TokenSourceEvent[]
  /** Milliseconds since T0 of each request to the STS. */
  callTimes(): number[]
}

/** A token source on fake time against an in-memory STS; `random` is 0.5 unless the test says. */
export function harness(
  t: Test,
  answer: (call: StsCall, index: number) => Response | Promise<Response>,
  options: Partial<TokenSourceOptions> = {},
): Harness {
  const time = new FakeTime(T0)
  const sts = stsStandIn(time, answer)
  const events: TokenSourceEvent[] = []
  const source = tokenSource({
    sts: 'https://sts.test',
    attestation: async () => ({ subjectToken: 'attestation-1', subjectTokenType: JWT_TOKEN_TYPE }),
    clock: time,
    timers: time,
    random: () => 0.5,
    fetch: sts.fetch,
    onEvent: (event) => events.push(event),
    ...options,
  })
  t.teardown(() => source.close())
  return { time, sts, source, events, callTimes: () => sts.calls.map((call) => call.at - T0) }
}
