import type { Clock } from '../../src/token-source/time.js'

/**
 * An in-memory token endpoint for the token source's own tests: every request is recorded (when, and
 * its form) and answered by the test's function. The end-to-end tests use the real service instead.
 */
export interface StsCall {
  at: number
  form: Record<string, string>
}

export interface StsStandIn {
  fetch: typeof globalThis.fetch
  calls: StsCall[]
}

export function stsStandIn(clock: Clock, answer: (call: StsCall, index: number) => Response | Promise<Response>): StsStandIn {
  const calls: StsCall[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (String(input) !== 'https://sts.test/oauth2/token') throw new TypeError(`unexpected URL ${String(input)}`)
    const form = Object.fromEntries(new URLSearchParams(String(init?.body)))
    const call = { at: clock.now(), form }
    calls.push(call)
    return answer(call, calls.length - 1)
  }
  return { fetch, calls }
}

let serial = 0

/** A 200 token response, its access token numbered so tests can tell tokens apart. */
export function issued(expiresIn = 300, extra: Record<string, unknown> = {}): Response {
  serial++
  return Response.json({
    access_token: `access-token-${serial}`,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: expiresIn,
    ...extra,
  })
}

/** An OAuth error answer (RFC 6749 §5.2), as Seed STS writes them. */
export function refused(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } })
}

export const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'the ledger cannot be reached',
  error_reason: 'ledger_unavailable',
}
