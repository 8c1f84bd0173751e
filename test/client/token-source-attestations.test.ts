import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  awsInstanceIdentity,
  azureAttestedData,
  azureManagedIdentity,
  customAttestation,
  fileAttestation,
  gcpIdentityToken,
  githubActions,
  JWT_TOKEN_TYPE,
  tokenSource,
  type Attestation,
} from '../../packages/client/src/index.js'
import { startImdsStandIn } from '../../packages/client/test/support/imds-stand-in.js'
import { startMetadataStandIn } from '../../packages/client/test/support/metadata-stand-in.js'
import { countingFetcher, jwks, makeKey, signToken } from '../support/attestors/jwt-attestations.js'
import { interopDir } from '../support/interop.js'
import { startListeningService, type ListeningService } from '../support/listening-service.js'
import { TRUST_DOMAIN, type TestServiceOptions } from '../support/service.js'

/**
 * Each attestation of the client package, end to end: the provider fetches a real published sample
 * from a local stand-in of its metadata endpoint (or its file), the token source exchanges it at the
 * real service (real Postgres and Redis) running at the sample's own time, and the access token that
 * comes back names the workload the sample is from. test/fixtures/interop/README.md says where each
 * sample comes from.
 */

const read = (kind: string, name: string): string => readFileSync(`${interopDir(kind)}${name}`, 'utf8')
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())

/** The service at `now`, a grant for `subject`, and a token source with `attestation` on the service's clock. */
async function exchangeThrough(
  t: Test,
  options: TestServiceOptions & { subject: string; grant?: Record<string, unknown> },
  attestation: Attestation,
): Promise<{ service: ListeningService; token: string; claims: Record<string, unknown> }> {
  const service = await startListeningService(t, options)
  await service.sts.createGrant({
    subject: options.subject,
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:write'],
    owner: 'team-payments',
    ...options.grant,
  })
  const source = tokenSource({ sts: service.url, attestation, clock: service.sts.clock })
  t.teardown(() => source.close())
  const token = await source.token({ audience: 'ledger-api', scope: 'ledger:read' })
  const claims = claimsOf(token)
  t.match(claims, { iss: 'https://sts.test.example', sub: options.subject, aud: 'ledger-api', scope: 'ledger:read' })
  t.equal((claims.exp as number) - (claims.iat as number), 300)
  t.match(
    await service.sts.services.ledger.get(String(claims.jti)),
    { subject: options.subject, audience: 'ledger-api' },
    'on record in the ledger',
  )
  return { service, token, claims }
}

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-client-e2e-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('a Kubernetes projected token, read from its file (EKS, 2025)', async (t) => {
  const token = read('k8s-sat', 'eks-hakawai-2025.jwt')
  const path = join(scratch(t), 'sts-token')
  writeFileSync(path, token)
  const issuer = 'https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969'
  await exchangeThrough(
    t,
    {
      now: (1_763_969_878 + 60) * 1000,
      config: {
        attestors: [
          {
            kind: 'kubernetes',
            name: 'eks',
            issuer,
            audience: 'sts.amazonaws.com',
            jwksFile: `${interopDir('k8s-sat')}keys/eks-eu-west-1-B88E7287-jwks.json`,
          },
        ],
      },
      subject: `spiffe://${TRUST_DOMAIN}/k8s/eks/ns/hakawai/sa/hakawai-litellm-proxy`,
    },
    fileAttestation({ path }),
  )
})

t.test(
  'an EC2 instance identity document with the instance nonce; a restart keeps the nonce, a copy without it gets nothing',
  async (t) => {
    const imds = await startImdsStandIn(t)
    const noncePath = join(scratch(t), 'aws-nonce')
    const subject = `spiffe://${TRUST_DOMAIN}/aws/189292791360/ap-southeast-2/i-0c5541936caf78c12`
    const { service } = await exchangeThrough(
      t,
      {
        now: Date.parse('2026-02-16T00:39:28Z'),
        config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['189292791360'], regions: ['ap-southeast-2'] }] },
        subject,
        grant: { conditions: { instanceType: 't4g.*' } },
      },
      awsInstanceIdentity({ noncePath, endpoint: imds.url }),
    )
    const restarted = tokenSource({
      sts: service.url,
      attestation: awsInstanceIdentity({ noncePath, endpoint: imds.url, form: 'signature' }),
      clock: service.sts.clock,
    })
    t.teardown(() => restarted.close())
    t.equal(
      claimsOf(await restarted.token({ audience: 'ledger-api', scope: 'ledger:write' })).sub,
      subject,
      'the same nonce from the file, the signature form this time',
    )

    const elsewhere = tokenSource({
      sts: service.url,
      attestation: awsInstanceIdentity({ noncePath: join(scratch(t), 'other-nonce'), endpoint: imds.url }),
      clock: service.sts.clock,
    })
    t.teardown(() => elsewhere.close())
    await t.rejects(elsewhere.token({ audience: 'ledger-api' }), {
      name: 'StsError',
      error: 'invalid_grant',
      reason: 'nonce_mismatch',
      status: 400,
      description:
        'instance 189292791360/ap-southeast-2/i-0c5541936caf78c12 is registered with another nonce: this document may be a copy (if the instance lost its nonce, an operator must forget its registration)',
    })
  },
)

t.test('a GCE instance identity token from the metadata server (2019)', async (t) => {
  const token = read('gcp-iit', 'smallstep-kops-2019.jwt').trim()
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers['metadata-flavor'] === 'Google' && request.query.audience === 'gcp:Kops Provisioner' && request.query.format === 'full'
      ? { body: token }
      : { status: 400, body: 'bad request' },
  )
  await exchangeThrough(
    t,
    {
      now: (1_555_544_268 + 60) * 1000,
      config: {
        attestors: [
          {
            kind: 'gcp',
            projects: ['kops-dev-2019-01'],
            audience: 'gcp:Kops Provisioner',
            jwksFile: `${interopDir('gcp-iit')}keys/google-jwks-2019-04-smallstep.json`,
          },
        ],
      },
      subject: `spiffe://${TRUST_DOMAIN}/gcp/kops-dev-2019-01/us-central1-c/kops-admin`,
    },
    gcpIdentityToken({ audience: 'gcp:Kops Provisioner', endpoint: metadata.url }),
  )
})

t.test('Azure IMDS attested data (US Gov, 2023)', async (t) => {
  const signature = read('azure-attested', 'coder-2023-govcloud.pkcs7.b64')
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers.metadata === 'true' ? { body: JSON.stringify({ encoding: 'pkcs7', signature }) } : { status: 400, body: '{}' },
  )
  const subscription = '0afbfffa-5df9-4a3b-987e-fe7577624272'
  await exchangeThrough(
    t,
    {
      now: Date.parse('2023-03-08T18:00:00Z'),
      config: { attestors: [{ kind: 'azure', name: 'azure-gov', subscriptions: [subscription] }] },
      subject: `spiffe://${TRUST_DOMAIN}/azure/${subscription}/vm/990878d4-068a-4ac4-9ee9-1231d2218ef2`,
    },
    azureAttestedData({ endpoint: metadata.url }),
  )
})

t.test('an Azure managed-identity token from IMDS (signed by the test: none is published with its keys)', async (t) => {
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const subscription = '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'
  const now = Date.parse('2026-11-23T12:00:00Z') / 1000
  const entra = await makeKey('RS256', 'entra-1')
  const oid = '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
  const accessToken = await signToken(entra, {
    iss: `https://sts.windows.net/${tenant}/`,
    aud: 'api://seed-sts',
    iat: now - 300,
    nbf: now - 300,
    exp: now + 3600,
    tid: tenant,
    oid,
    sub: oid,
    appid: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
    xms_mirid: `/subscriptions/${subscription}/resourcegroups/Payments-Prod/providers/Microsoft.Compute/virtualMachines/api-vm-1`,
  })
  const metadata = await startMetadataStandIn(t, (request) =>
    request.headers.metadata === 'true' && request.query.resource === 'api://seed-sts'
      ? { body: JSON.stringify({ access_token: accessToken, expires_in: '3599', resource: 'api://seed-sts', token_type: 'Bearer' }) }
      : { status: 400, body: '{}' },
  )
  await exchangeThrough(
    t,
    {
      now: now * 1000,
      fetchJwks: countingFetcher(jwks(entra)).fetch,
      config: {
        attestors: [
          {
            kind: 'azure',
            name: 'azure',
            subscriptions: [subscription],
            tenants: [tenant],
            managedIdentity: { audience: 'api://seed-sts' },
          },
        ],
      },
      subject: `spiffe://${TRUST_DOMAIN}/azure/${tenant}/${subscription}/payments-prod/api-vm-1`,
    },
    azureManagedIdentity({ resource: 'api://seed-sts', endpoint: metadata.url }),
  )
})

t.test('a GitHub Actions OIDC token from the job token service (2023)', async (t) => {
  const token = read('github-oidc', 'rubygems-segiddins-oidc-test-2023.jwt').trim()
  const service = await startMetadataStandIn(t, (request) =>
    request.headers.authorization === 'Bearer job-request-token' && request.query.audience === 'https://github.com/segiddins'
      ? { body: JSON.stringify({ count: 1, value: token }) }
      : { status: 401, body: '{}' },
  )
  await exchangeThrough(
    t,
    {
      now: (1_680_020_537 + 60) * 1000,
      config: {
        attestors: [
          {
            kind: 'github',
            owners: ['segiddins'],
            ownerIds: ['1946610'],
            audience: 'https://github.com/segiddins',
            jwksFile: `${interopDir('github-oidc')}keys/github-actions-jwks-2023-from-rubygems.json`,
          },
        ],
      },
      subject: `spiffe://${TRUST_DOMAIN}/github/segiddins/oidc-test`,
      grant: { conditions: { repository_id: '620393838' } },
    },
    githubActions({
      audience: 'https://github.com/segiddins',
      requestUrl: `${service.url}/idtoken?api-version=2.0`,
      requestToken: 'job-request-token',
    }),
  )
})

t.test('a custom attestation: a function that returns the test cluster’s projected token', async (t) => {
  const service = await startListeningService(t)
  const { cluster } = service.sts
  await service.sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const attestation = customAttestation(async () => ({
    subjectToken: await cluster.serviceAccountToken(),
    subjectTokenType: JWT_TOKEN_TYPE,
  }))
  const source = tokenSource({ sts: service.url, attestation, clock: service.sts.clock })
  t.teardown(() => source.close())
  t.match(claimsOf(await source.token({ audience: 'ledger-api' })), {
    sub: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`,
    aud: 'ledger-api',
  })
})
