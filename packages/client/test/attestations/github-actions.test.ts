import t from 'tap'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { githubActions } from '../../src/attestations/github-actions.js'
import { fixture } from '../support/fixtures.js'
import { context, startMetadataStandIn } from '../support/metadata-stand-in.js'

// rubygems segiddins/oidc-test, 2023: audience "https://github.com/segiddins".
const TOKEN = fixture('rubygems-segiddins-oidc-test-2023.jwt').trim()
const REQUEST_TOKEN = 'ghs-request-token-of-the-job'

t.test('the job OIDC token, asked for with the request token and the audience, as core.getIDToken does', async (t) => {
  const service = await startMetadataStandIn(t, (request) =>
    request.headers.authorization === `Bearer ${REQUEST_TOKEN}`
      ? { body: JSON.stringify({ count: 1, value: TOKEN }) }
      : { status: 401, body: '{"message":"Bad credentials"}' },
  )
  // The URL GitHub sets already carries a query string.
  const requestUrl = `${service.url}/_apis/distributedtask/hubs/Actions/plans/p/jobs/j/idtoken?api-version=2.0`
  const attestation = githubActions({ audience: 'https://github.com/segiddins', requestUrl, requestToken: REQUEST_TOKEN })
  t.same(await attestation.subjectToken(context()), { subjectToken: TOKEN, subjectTokenType: JWT_TOKEN_TYPE })
  t.same(
    service.requests.map(({ path, query }) => ({ path, query })),
    [
      {
        path: '/_apis/distributedtask/hubs/Actions/plans/p/jobs/j/idtoken',
        query: { 'api-version': '2.0', audience: 'https://github.com/segiddins' },
      },
    ],
  )

  const wrong = githubActions({ audience: 'a', requestUrl, requestToken: 'expired' })
  await t.rejects(wrong.subjectToken(context()), {
    name: 'AttestationError',
    retryable: false,
    message: 'GitHub Actions\' OIDC token service answered 401: {"message":"Bad credentials"}',
  })
})

t.test('the variables are read from the job, and their absence explained', async (t) => {
  const saved = { url: process.env.ACTIONS_ID_TOKEN_REQUEST_URL, token: process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN }
  t.teardown(() => {
    for (const [name, value] of [
      ['ACTIONS_ID_TOKEN_REQUEST_URL', saved.url],
      ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', saved.token],
    ] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  t.throws(() => githubActions({ audience: 'sts.example.org' }), {
    name: 'TypeError',
    message: /give the job `permissions: id-token: write`/,
  })

  const service = await startMetadataStandIn(t, () => ({ body: JSON.stringify({ value: TOKEN }) }))
  process.env.ACTIONS_ID_TOKEN_REQUEST_URL = `${service.url}/idtoken?api-version=2.0`
  process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = REQUEST_TOKEN
  t.same(await githubActions({ audience: 'sts.example.org' }).subjectToken(context()), {
    subjectToken: TOKEN,
    subjectTokenType: JWT_TOKEN_TYPE,
  })
  t.equal(service.requests[0]?.headers.authorization, `Bearer ${REQUEST_TOKEN}`)
})
