import t from 'tap'
import { accessTokenAttestation } from '../../src/attestations/access-token.js'
import { ACCESS_TOKEN_TYPE } from '../../src/index.js'
import { context } from '../support/metadata-stand-in.js'

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

/** An unsigned JWT-shaped token expiring at `exp` (seconds): the attestation reads `exp` without verifying. */
function tokenExpiringAt(exp: number): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'ES256', typ: 'at+jwt' })}.${part({ sub: 'spiffe://example.org/x', exp })}.c2ln`
}

t.test('an access token of ours is sent as the subject with the access_token type', async (t) => {
  t.equal(ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:access_token')
  const token = tokenExpiringAt(NOW / 1000 + 60)
  const attestation = accessTokenAttestation(token)
  t.equal(attestation.kind, 'access-token')
  t.same(await attestation.subjectToken(context(NOW)), { subjectToken: token, subjectTokenType: ACCESS_TOKEN_TYPE })
})

t.test('a function is asked before every exchange', async (t) => {
  let asked = 0
  const attestation = accessTokenAttestation(async ({ now }) => {
    asked++
    return tokenExpiringAt(now() / 1000 + 60)
  })
  await attestation.subjectToken(context(NOW))
  const second = await attestation.subjectToken(context(NOW + 1000))
  t.equal(asked, 2)
  t.equal(second.subjectToken, tokenExpiringAt(NOW / 1000 + 61))
})

t.test('an expired token is never sent: final when given as a string, retried when a function gives it', async (t) => {
  const expired = tokenExpiringAt(NOW / 1000)
  const message = `the access token given expired at ${new Date(NOW).toISOString()}`
  await t.rejects(accessTokenAttestation(expired).subjectToken(context(NOW)), { name: 'AttestationError', retryable: false, message })
  await t.rejects(accessTokenAttestation(async () => expired).subjectToken(context(NOW)), {
    name: 'AttestationError',
    retryable: true,
    message,
  })
  const alive = tokenExpiringAt(NOW / 1000 + 1)
  t.equal((await accessTokenAttestation(alive).subjectToken(context(NOW))).subjectToken, alive, 'one second left: sent')
})

t.test('what is not an access token is refused', async (t) => {
  t.throws(() => accessTokenAttestation(''), {
    name: 'TypeError',
    message: 'accessTokenAttestation: expected an access token, or a function returning one',
  })
  t.throws(() => accessTokenAttestation(undefined as never), { name: 'TypeError' })
  await t.rejects(accessTokenAttestation('not a jwt').subjectToken(context(NOW)), {
    name: 'AttestationError',
    retryable: false,
    message: 'the access-token attestation was given no access token (a JWT)',
  })
})
