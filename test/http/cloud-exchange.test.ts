import { readFileSync } from 'node:fs'
import t from 'tap'
import { countingFetcher, jwks, makeKey, signToken } from '../support/attestors/jwt-attestations.js'
import { STS_AUDIENCE } from '../support/cluster.js'
import { INTEROP_DIR, interopDir } from '../support/interop.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * GCP, GitHub Actions, Azure and a generic OIDC issuer, each end to end over the HTTP API with real
 * Postgres and Redis: configured in the service config, a real published attestation in (at its own
 * time), a grant matching its normalized claims, a token out and on record; copies and revoked sources
 * refused. See test/fixtures/interop/README.md for where each sample comes from.
 */

const INTEROP = `${INTEROP_DIR}/`
for (const kind of ['gcp-iit', 'github-oidc', 'azure-attested']) interopDir(kind) // missing samples fail the file, never skip it
const read = (path: string): string => readFileSync(`${INTEROP}${path}`, 'utf8').trim()
const AZURE_TYPE = 'urn:seed-sts:token-type:azure-attested-data'

const claimsOf = (accessToken: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(accessToken).split('.')[1], 'base64url').toString())

async function revokeSource(sts: TestService, source: string): Promise<Record<string, unknown>> {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: source, reason: 'incident 4711' },
  })
  if (response.statusCode !== 201 && response.statusCode !== 200)
    throw new Error(`revocation failed: ${response.statusCode} ${response.body}`)
  return response.json()
}

t.test('a Compute Engine VM exchanges its instance identity token; conditions match its project and zone', async (t) => {
  // smallstep kops-admin, 2019: project kops-dev-2019-01, us-central1-c, audience "gcp:Kops Provisioner".
  const token = read('gcp-iit/smallstep-kops-2019.jwt')
  const sts = await startTestService(t, {
    now: (1_555_544_268 + 60) * 1000,
    config: {
      attestors: [
        {
          kind: 'gcp',
          projects: ['kops-dev-2019-01'],
          audience: 'gcp:Kops Provisioner',
          jwksFile: `${INTEROP}gcp-iit/keys/google-jwks-2019-04-smallstep.json`,
        },
      ],
    },
  })
  const subject = `spiffe://${TRUST_DOMAIN}/gcp/kops-dev-2019-01/us-central1-c/kops-admin`
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/gcp/**`,
    conditions: { projectId: 'kops-dev-2019-01', zone: 'us-central1-*' },
    audiences: ['registry'],
    scopes: ['images:pull'],
    owner: 'team-platform',
  })
  const exchange = (subjectToken: string) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE, audience: 'registry' })

  const issued = await exchange(token)
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  const claims = claimsOf(issued.body.access_token)
  t.match(claims, { sub: subject, aud: 'registry', scope: 'images:pull' })
  t.match(await sts.services.ledger.get(String(claims.jti)), {
    subject,
    attestor: 'gcp',
    attestorKind: 'gcp',
    sources: ['gcp:kops-dev-2019-01', 'gcp:kops-dev-2019-01:us-central1-c', 'gcp:kops-dev-2019-01:us-central1-c:3015378661047007286'],
  })
  t.equal((await exchange(token)).statusCode, 200, 'the VM may present its token again within its hour (not single-use by default)')

  const [header, payload, signature] = token.split('.') as [string, string, string]
  const otherProject = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('kops-dev-2019-01', 'kops-dev-2019-02')).toString(
    'base64url',
  )
  t.match((await exchange(`${header}.${otherProject}.${signature}`)).body, { error: 'invalid_grant', error_reason: 'signature_invalid' })

  t.equal((await revokeSource(sts, 'gcp:kops-dev-2019-01:us-central1-c:3015378661047007286')).liveTokensCutOff, 2)
  t.same((await exchange(token)).body, {
    error: 'invalid_grant',
    error_description: 'the attestation source gcp:kops-dev-2019-01:us-central1-c:3015378661047007286 is revoked',
    error_reason: 'revoked',
  })
})

t.test('a GitHub Actions job exchanges its OIDC token once; grants pin the repository id', async (t) => {
  // rubygems segiddins/oidc-test, 2023, audience "https://github.com/segiddins".
  const token = read('github-oidc/rubygems-segiddins-oidc-test-2023.jwt')
  const logLines: string[] = []
  const start = (lines?: string[]) =>
    startTestService(t, {
      now: (1_680_020_537 + 60) * 1000,
      ...(lines ? { logLines: lines } : {}),
      config: {
        attestors: [
          {
            kind: 'github',
            owners: ['segiddins'],
            ownerIds: ['1946610'],
            audience: 'https://github.com/segiddins',
            jwksFile: `${INTEROP}github-oidc/keys/github-actions-jwks-2023-from-rubygems.json`,
          },
        ],
      },
    })
  const subject = `spiffe://${TRUST_DOMAIN}/github/segiddins/oidc-test`
  const exchangeWith = (sts: TestService) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TOKEN_TYPE })

  // The same name under another id (a deleted repository registered again) matches nothing.
  const elsewhere = await start()
  await elsewhere.createGrant({ subject, conditions: { repository_id: '1' }, audiences: ['gems'], owner: 'team-release' })
  t.same(
    (await exchangeWith(elsewhere)).body,
    { error: 'invalid_grant', error_description: `no grant allows ${subject} to get a token`, error_reason: 'not_granted' },
    'a grant pinned to another repository id gives nothing',
  )

  const sts = await start(logLines)
  await sts.createGrant({
    subject,
    conditions: { repository_id: '620393838', ref: 'refs/heads/main' },
    audiences: ['gems'],
    scopes: ['gems:push'],
    owner: 'team-release',
  })
  const issued = await exchangeWith(sts)
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  t.match(claimsOf(issued.body.access_token), { sub: subject, aud: 'gems', scope: 'gems:push' })

  const replayed = await exchangeWith(sts)
  t.match(replayed.body, { error: 'invalid_grant', error_reason: 'replayed' })
  const refusals = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'token request refused')
  t.ok(
    refusals.some((entry) => entry.error === 'invalid_grant' && entry.reason === 'replayed'),
    'the replay is logged',
  )
  t.notOk(logLines.join('').includes(token.split('.')[2]), 'the attestation is not in the log')

  const revoked = await revokeSource(sts, 'github:repository_id:620393838')
  t.equal(revoked.liveTokensCutOff, 1, 'revoking the repository cuts off the token it got')
})

t.test('an Azure VM exchanges its IMDS attested data once; conditions match its subscription and image', async (t) => {
  // coder govcloud sample, 2023-03-08: subscription 0afbfffa-..., VM 990878d4-..., sku 18.04-LTS.
  const attested = read('azure-attested/coder-2023-govcloud.pkcs7.b64')
  const subscription = '0afbfffa-5df9-4a3b-987e-fe7577624272'
  const vm = '990878d4-068a-4ac4-9ee9-1231d2218ef2'
  const sts = await startTestService(t, {
    now: Date.parse('2023-03-08T18:00:00Z'),
    config: { attestors: [{ kind: 'azure', name: 'azure-gov', subscriptions: [subscription] }] },
  })
  const subject = `spiffe://${TRUST_DOMAIN}/azure/${subscription}/vm/${vm}`
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/azure/${subscription}/**`,
    conditions: { sku: '18.04-*' },
    audiences: ['vault'],
    owner: 'team-infra',
  })
  const exchange = (subjectToken: string) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: AZURE_TYPE })

  const issued = await exchange(JSON.stringify({ encoding: 'pkcs7', signature: attested }))
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  t.match(claimsOf(issued.body.access_token), { sub: subject, aud: 'vault' })
  t.match(
    (await exchange(attested)).body,
    { error: 'invalid_grant', error_reason: 'replayed' },
    'the same document, bare this time, is a copy',
  )

  const selfSigned = await exchange(read('azure-attested/msdocs-2018-example-UNTRUSTED-testcert.pkcs7.b64'))
  // Microsoft's documentation sample: self-signed, and long expired, which is checked first.
  t.match(selfSigned.body, { error: 'invalid_grant', error_reason: 'certificate_expired' })

  t.equal((await revokeSource(sts, `azure:${subscription}`)).liveTokensCutOff, 1, 'revoking the subscription cuts off its VMs')
  const discovery = (await sts.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  t.same(
    discovery.subject_token_types_supported,
    [AZURE_TYPE, 'urn:ietf:params:oauth:token-type:access_token'],
    'discovery names the one attestation type configured, and our own access tokens',
  )
})

t.test('an Azure managed identity exchanges its Entra token; the VM it belongs to is its identity', async (t) => {
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const subscription = '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'
  const entra = await makeKey('RS256', 'entra-1')
  const now = Date.parse('2026-11-23T12:00:00Z') / 1000
  const fetcher = countingFetcher(jwks(entra))
  const sts = await startTestService(t, {
    now: now * 1000,
    fetchJwks: fetcher.fetch,
    config: {
      attestors: [
        { kind: 'azure', name: 'azure', subscriptions: [subscription], tenants: [tenant], managedIdentity: { audience: 'api://seed-sts' } },
      ],
    },
  })
  const oid = '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
  const claims = (iss: string) => ({
    iss,
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
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/azure/${tenant}/${subscription}/payments-prod/*`,
    audiences: ['ledger'],
    owner: 'team-payments',
  })
  for (const issuer of [`https://sts.windows.net/${tenant}/`, `https://login.microsoftonline.com/${tenant}/v2.0`]) {
    const issued = await sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await signToken(entra, claims(issuer)),
      subject_token_type: JWT_TOKEN_TYPE,
    })
    t.equal(issued.statusCode, 200, `${issuer}: ${JSON.stringify(issued.body)}`)
    t.equal(claimsOf(issued.body.access_token).sub, `spiffe://${TRUST_DOMAIN}/azure/${tenant}/${subscription}/payments-prod/api-vm-1`)
  }
  const otherTenant = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await signToken(entra, {
      ...claims('https://sts.windows.net/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/'),
      tid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    }),
    subject_token_type: JWT_TOKEN_TYPE,
  })
  t.same(otherTenant.body, {
    error: 'invalid_grant',
    error_description: 'no attestor is configured for issuer "https://sts.windows.net/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/"',
    error_reason: 'issuer_unknown',
  })
})

t.test('an Azure VM in 2026: attested data verified through the current Microsoft chain', async (t) => {
  const subscription = '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'
  const sts = await startTestService(t, {
    now: Date.parse('2026-06-25T19:00:00Z'),
    config: { attestors: [{ kind: 'azure', name: 'azure', subscriptions: [subscription] }] },
  })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/azure/${subscription}/vm/*`,
    conditions: { sku: '20_04-lts-*' },
    audiences: ['vault'],
    owner: 'team-infra',
  })
  const issued = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: read('azure-attested/coder-2026-eastus.pkcs7.b64'),
    subject_token_type: AZURE_TYPE,
  })
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  t.equal(claimsOf(issued.body.access_token).sub, `spiffe://${TRUST_DOMAIN}/azure/${subscription}/vm/dc18de58-292f-4794-9a5d-a4192bad0039`)
})

t.test('the service warns at start about Azure trust material that is not valid now', async (t) => {
  const warningsOf = async (attestor: Record<string, unknown>): Promise<string[]> => {
    const logLines: string[] = []
    await startTestService(t, {
      logLines,
      config: { attestors: [{ kind: 'azure', name: 'azure', subscriptions: ['05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'], ...attestor }] },
    })
    return logLines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.level === 40)
      .map((entry) => entry.msg)
  }
  const shipped = await warningsOf({})
  t.ok(
    shipped.some((msg) => /^attestor azure: azure intermediate "Microsoft RSA TLS CA 01" expired at 2024-10-08/.test(msg)),
    shipped.join('\n'),
  )
  t.notOk(
    shipped.some((msg) => /no configured azure intermediate is valid now/.test(msg)),
    'the shipped OCSP intermediates are valid until 2029',
  )
  const old = await warningsOf({ intermediates: [`${INTEROP}azure-attested/intermediates`] })
  t.ok(
    old.some((msg) => /^attestor azure: no configured azure intermediate is valid now/.test(msg)),
    old.join('\n'),
  )
})

t.test('any OIDC issuer: the identity from a template, conditions on the claims it exposes, each token once', async (t) => {
  const key = await makeKey('ES256', 'gitlab-1')
  const now = Date.parse('2026-11-23T12:00:00Z') / 1000
  const sts = await startTestService(t, {
    now: now * 1000,
    config: {
      attestors: [
        {
          kind: 'oidc',
          name: 'gitlab',
          issuer: 'https://gitlab.example.test',
          jwks: jwks(key),
          subjectTemplate: 'ci/gitlab/{claims.project_id}',
          claims: ['project_path', 'ref'],
          requiredClaims: { namespace_path: 'acme' },
        },
      ],
    },
  })
  const job = (overrides: Record<string, unknown> = {}) =>
    signToken(key, {
      iss: 'https://gitlab.example.test',
      aud: STS_AUDIENCE,
      iat: now - 10,
      exp: now + 300,
      jti: `job-${Math.random()}`,
      sub: 'project_path:acme/api:ref_type:branch:ref:main',
      project_id: '42',
      project_path: 'acme/api',
      namespace_path: 'acme',
      ref: 'main',
      ...overrides,
    })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/ci/gitlab/*`,
    conditions: { project_path: 'acme/*', ref: 'main' },
    audiences: ['deploy'],
    owner: 'team-ci',
  })
  const exchange = (subjectToken: string) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE })

  const token = await job()
  const issued = await exchange(token)
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  t.equal(claimsOf(issued.body.access_token).sub, `spiffe://${TRUST_DOMAIN}/ci/gitlab/42`)
  t.match((await exchange(token)).body, { error: 'invalid_grant', error_reason: 'replayed' })
  t.match(
    (await exchange(await job({ ref: 'feature-x' }))).body,
    { error: 'invalid_grant', error_reason: 'not_granted' },
    'a condition that does not hold gives nothing',
  )
  t.match(
    (await exchange(await job({ namespace_path: 'evil' }))).body,
    { error: 'invalid_grant', error_reason: 'claim_not_allowed' },
    'required claims are checked',
  )
})
