import t from 'tap'
import { StsError } from '../src/errors.js'

t.test('an StsError names the OAuth error and its description', async (t) => {
  const error = new StsError('invalid_grant', 'the attestation has expired', 400)
  t.same(
    { name: error.name, message: error.message, error: error.error, description: error.description, status: error.status },
    {
      name: 'StsError',
      message: 'invalid_grant: the attestation has expired',
      error: 'invalid_grant',
      description: 'the attestation has expired',
      status: 400,
    },
  )
  t.equal(new StsError('server_error', undefined, 502).message, 'server_error')
})
