import t from 'tap'
import { customAttestation } from '../../src/attestations/custom.js'
import { context } from '../support/metadata-stand-in.js'

t.test('a function of your own: what it returns is sent; what is not a subject token is refused', async (t) => {
  const attestation = customAttestation(
    async ({ now }) => ({ subjectToken: `minted-at-${now()}`, subjectTokenType: 'urn:example:token' }),
    'vault',
  )
  t.equal(attestation.kind, 'vault')
  t.same(await attestation.subjectToken(context(42)), { subjectToken: 'minted-at-42', subjectTokenType: 'urn:example:token' })
  const empty = customAttestation(async () => ({ subjectToken: '', subjectTokenType: 'urn:example:token' }))
  await t.rejects(empty.subjectToken(context()), {
    name: 'AttestationError',
    retryable: false,
    message: 'the custom attestation returned no { subjectToken, subjectTokenType }',
  })
  t.throws(() => customAttestation('token' as never), { name: 'TypeError' })
})
