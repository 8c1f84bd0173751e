/**
 * A process that uses a token source and then has nothing else to do: it must end on its own (the
 * refresh timer is unref'd), and must not end while a caller waits out a Retry-After (that timer is
 * ref'd). Run by test/token-source/close.test.ts; prints what it got.
 */
import { tokenSource } from '../../src/token-source/token-source.js'

const scenario = process.argv[2]
let calls = 0
const fetch: typeof globalThis.fetch = async () => {
  calls++
  if (scenario === 'retry-after' && calls < 3) {
    return Response.json({ error: 'temporarily_unavailable', error_reason: 'overloaded' }, { status: 503, headers: { 'retry-after': '1' } })
  }
  return Response.json({ access_token: `access-token-${calls}`, token_type: 'Bearer', expires_in: 3600 })
}
const source = tokenSource({
  sts: 'https://sts.test',
  attestation: async () => ({ subjectToken: 'attestation', subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt' }),
  fetch,
  retry: { baseDelayMs: 100 },
})
const token = await source.token({ audience: 'ledger-api' })
console.log(scenario === 'retry-after' ? `got ${token} after ${calls - 1} retries` : `got ${token}`)
