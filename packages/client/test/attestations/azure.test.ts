import { generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE, JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { azureAttestedData } from '../../src/attestations/azure-attested-data.js'
import { azureManagedIdentity } from '../../src/attestations/azure-managed-identity.js'
import { fixture } from '../support/fixtures.js'
import { context, startMetadataStandIn } from '../support/metadata-stand-in.js'

// coder govcloud, 2023-03-08: the "signature" of an IMDS attested-data answer.
const SIGNATURE = fixture('coder-2023-govcloud.pkcs7.b64').replace(/\s+/g, '')

t.test('attested data: asked with Metadata: true, an api-version and a new ten-digit nonce each time; sent as IMDS answered', async (t) => {
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers.metadata === 'true'
      ? { body: JSON.stringify({ encoding: 'pkcs7', signature: SIGNATURE }), headers: { 'content-type': 'application/json' } }
      : { status: 400, body: JSON.stringify({ error: 'Bad request. Required metadata header not specified' }) },
  )
  const attestation = azureAttestedData({ endpoint: metadata.url })
  const first = await attestation.subjectToken(context())
  t.same(first, {
    subjectToken: JSON.stringify({ encoding: 'pkcs7', signature: SIGNATURE }),
    subjectTokenType: AZURE_ATTESTED_DATA_TOKEN_TYPE,
  })
  await attestation.subjectToken(context())
  const [one, two] = metadata.requests
  t.equal(one?.path, '/metadata/attested/document')
  t.equal(one?.query['api-version'], '2021-02-01')
  t.match(one?.query.nonce, /^\d{10}$/)
  t.not(one?.query.nonce, two?.query.nonce, 'a new nonce for every document')
})

t.test('attested data without a PKCS#7 signature is not sent', async (t) => {
  const metadata = await startMetadataStandIn(t, () => ({ body: JSON.stringify({ encoding: 'json', signature: '' }) }))
  await t.rejects(azureAttestedData({ endpoint: metadata.url }).subjectToken(context()), {
    name: 'AttestationError',
    message: 'the Azure instance metadata service answered attested data without a PKCS#7 signature',
  })
})

t.test('managed identity: the access token IMDS gives for the resource, for the identity named', async (t) => {
  // No managed-identity token has been published with its keys: this one is signed here, shaped as Entra's.
  const { privateKey } = await generateKeyPair('RS256')
  const entraToken = await new SignJWT({ tid: '72f988bf-86f1-41af-91ab-2d7cd011db47', oid: '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'entra-1' })
    .setIssuer('https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/')
    .setAudience('api://seed-sts')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers.metadata === 'true'
      ? {
          body: JSON.stringify({
            access_token: entraToken,
            expires_in: '86399',
            expires_on: '1795000000',
            resource: request.query.resource,
            token_type: 'Bearer',
          }),
          headers: { 'content-type': 'application/json' },
        }
      : { status: 400, body: '{}' },
  )
  const system = azureManagedIdentity({ resource: 'api://seed-sts', endpoint: metadata.url })
  t.same(await system.subjectToken(context()), { subjectToken: entraToken, subjectTokenType: JWT_TOKEN_TYPE })
  await azureManagedIdentity({
    resource: 'api://seed-sts',
    endpoint: metadata.url,
    clientId: '11111111-2222-3333-4444-555555555555',
  }).subjectToken(context())
  t.same(
    metadata.requests.map(({ path, query }) => ({ path, query })),
    [
      { path: '/metadata/identity/oauth2/token', query: { 'api-version': '2018-02-01', resource: 'api://seed-sts' } },
      {
        path: '/metadata/identity/oauth2/token',
        query: { 'api-version': '2018-02-01', resource: 'api://seed-sts', client_id: '11111111-2222-3333-4444-555555555555' },
      },
    ],
  )
  t.throws(() => azureManagedIdentity({ resource: 'api://seed-sts', clientId: 'a', objectId: 'b' }), {
    name: 'TypeError',
    message: /by one of `clientId`, `objectId`, `resourceId`/,
  })
  t.throws(() => azureManagedIdentity({ resource: '' }), { name: 'TypeError', message: /`resource` must be the audience the STS expects/ })
})
