import t from 'tap'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { gcpIdentityToken } from '../../src/attestations/gcp-identity-token.js'
import { fixture } from '../support/fixtures.js'
import { context, startMetadataStandIn } from '../support/metadata-stand-in.js'

// smallstep 2019: audience "gcp:Kops Provisioner", format=full (instance claims included).
const TOKEN = fixture('smallstep-kops-2019.jwt').trim()

t.test('the instance identity token, asked for with the audience, format=full and Metadata-Flavor', async (t) => {
  // As the metadata server does: no Metadata-Flavor header, no answer.
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers['metadata-flavor'] === 'Google'
      ? { body: TOKEN, headers: { 'metadata-flavor': 'Google' } }
      : { status: 403, body: 'Missing Metadata-Flavor:Google header.' },
  )
  const attestation = gcpIdentityToken({ audience: 'gcp:Kops Provisioner', endpoint: metadata.url })
  t.same(await attestation.subjectToken(context()), { subjectToken: TOKEN, subjectTokenType: JWT_TOKEN_TYPE })
  t.same(
    metadata.requests.map(({ method, path, query }) => ({ method, path, query })),
    [
      {
        method: 'GET',
        path: '/computeMetadata/v1/instance/service-accounts/default/identity',
        query: { audience: 'gcp:Kops Provisioner', format: 'full' },
      },
    ],
  )

  await gcpIdentityToken({
    audience: 'sts.example.org',
    endpoint: metadata.url,
    serviceAccount: 'sts@p.iam.gserviceaccount.com',
    licenses: true,
  }).subjectToken(context())
  t.same(metadata.requests[1]?.path, '/computeMetadata/v1/instance/service-accounts/sts%40p.iam.gserviceaccount.com/identity')
  t.same(metadata.requests[1]?.query, { audience: 'sts.example.org', format: 'full', licenses: 'TRUE' })
})

t.test('a metadata server that refuses is not retried; one that is down is', async (t) => {
  const metadata = await startMetadataStandIn(t, () => ({ status: 404, body: 'service account not found' }))
  await t.rejects(gcpIdentityToken({ audience: 'a', endpoint: metadata.url }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: false,
    message: 'the GCE metadata server answered 404: service account not found',
  })
  const busy = await startMetadataStandIn(t, () => ({ status: 503, body: '' }))
  await t.rejects(gcpIdentityToken({ audience: 'a', endpoint: busy.url }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: true,
    message: 'the GCE metadata server answered 503',
  })
  t.throws(() => gcpIdentityToken({ audience: '' }), {
    name: 'TypeError',
    message: 'gcpIdentityToken: `audience` must be the audience the STS expects',
  })
})
