import { readFileSync } from 'node:fs'
import t from 'tap'
import { createGcpAttestor } from '../../../src/attestors/gcp/attestor.js'
import { GcpAttestorConfig } from '../../../src/attestors/gcp/config.js'
import { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused, countingFetcher, makeKey, signToken, tamper } from '../../support/attestors/jwt-attestations.js'
import { interopDir } from '../../support/interop.js'

/**
 * Real GCE instance identity tokens from public repositories, each with the Google JWKS captured when
 * it was issued (see test/fixtures/interop/README.md, section 2). Each is accepted as of its iat + 60 s.
 */

const interop = interopDir('gcp-iit')
const read = (name: string): string => readFileSync(`${interop}${name}`, 'utf8').trim()

interface Sample {
  token: string
  keys: string
  aud: string
  project: string
  iat: number
}
const samples: Record<string, Sample> = {
  smallstep: {
    token: 'smallstep-kops-2019.jwt',
    keys: 'google-jwks-2019-04-smallstep.json',
    aud: 'gcp:Kops Provisioner',
    project: 'kops-dev-2019-01',
    iat: 1_555_544_268,
  },
  candlepin: {
    token: 'candlepin-rhsm-2021.jwt',
    keys: 'google-jwks-6a8ba565-osangenis.json',
    aud: 'https://subscription.rhsm.redhat.com:443/subscription',
    project: 'fair-kingdom-308514',
    iat: 1_616_596_223,
  },
}

function attestorFor(sample: Sample, fields: Record<string, unknown> = {}, now = sample.iat + 60) {
  const config = GcpAttestorConfig.parse({ kind: 'gcp', projects: [sample.project], jwksFile: `${interop}keys/${sample.keys}`, ...fields })
  return createGcpAttestor(config, {
    trustDomain: 'example.org',
    audience: sample.aud,
    clock: new FixedClock(now * 1000),
    skewSeconds: 60,
    maxAttestationBytes: 16_384,
    fetchJwks: countingFetcher({}).fetch,
  })
}

t.test('smallstep kops token (2019): the whole identity', async (t) => {
  const { smallstep } = samples
  t.same(await attestorFor(smallstep).attest(read(smallstep.token)), {
    subject: 'spiffe://example.org/gcp/kops-dev-2019-01/us-central1-c/kops-admin',
    attestor: 'gcp',
    kind: 'gcp',
    claims: {
      projectId: 'kops-dev-2019-01',
      projectNumber: '847250625900',
      zone: 'us-central1-c',
      region: 'us-central1',
      instanceId: '3015378661047007286',
      instanceName: 'kops-admin',
      serviceAccountEmail: '847250625900-compute@developer.gserviceaccount.com',
      serviceAccountId: '106652250211606546223',
    },
    sources: [
      { id: 'gcp:kops-dev-2019-01' },
      { id: 'gcp:kops-dev-2019-01:us-central1-c' },
      { id: 'gcp:kops-dev-2019-01:us-central1-c:3015378661047007286' },
    ],
    expiresAt: new Date('2019-04-18T00:37:48Z'),
  })
})

t.test('every sample is accepted as of its time, with its own audience and project', async (t) => {
  const expected: Record<string, [subject: string, claims: Record<string, string>]> = {
    candlepin: [
      'gcp/fair-kingdom-308514/us-east1-b/instance-1',
      { instanceId: '2589221140676718026', projectNumber: '161958465613', region: 'us-east1', licenseIds: '5731035067256925298' },
    ],
  }
  for (const [name, [path, claims]] of Object.entries(expected)) {
    const identity = await attestorFor(samples[name]).attest(read(samples[name].token))
    t.equal(identity.subject, `spiffe://example.org/${path}`, name)
    t.match(identity.claims, claims, `${name} claims`)
    t.equal(identity.expiresAt?.getTime(), (samples[name].iat + 3600) * 1000, `${name} expires an hour after it was issued`)
  }
})

t.test('tampered copies are refused', async (t) => {
  for (const sample of Object.values(samples)) {
    await assertRefused(t, attestorFor(sample).attest(tamper(read(sample.token))), 'signature_invalid', /^the token signature is invalid$/)
    const [header, payload, signature] = read(sample.token).split('.') as [string, string, string]
    await assertRefused(
      t,
      attestorFor(sample).attest(`${header}.${payload}.${signature.slice(0, -4)}AAAA`),
      'signature_invalid',
      /^the token signature is invalid$/,
    )
  }
})

t.test('a token with Compute Engine claims signed by our own key is refused, whatever kid it names', async (t) => {
  const { smallstep } = samples
  const ours = await makeKey('RS256', '3782d3f0bc89008d9d2c01730f765cfb19d3b70e')
  const claims = JSON.parse(Buffer.from(read(smallstep.token).split('.')[1], 'base64url').toString('utf8'))
  await assertRefused(
    t,
    attestorFor(smallstep).attest(await signToken(ours, claims)),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep).attest(await signToken({ ...ours, kid: 'not-google' }, claims)),
    'key_unknown',
    /^no key with kid "not-google" is trusted for issuer "https:\/\/accounts.google.com"$/,
  )
})

t.test('each sample is refused when its project, audience, time or keys are not right', async (t) => {
  const { smallstep, candlepin } = samples
  const token = read(smallstep.token)
  await assertRefused(
    t,
    attestorFor(smallstep, { projects: ['kops-prod-2019-01'] }).attest(token),
    'claim_not_allowed',
    /^the token project "kops-dev-2019-01" is not one of the projects attestor "gcp" accepts$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, { audience: 'seed-sts' }).attest(token),
    'audience_mismatch',
    /^the token is addressed to "gcp:Kops Provisioner", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, {}, Math.floor(Date.now() / 1000)).attest(token),
    'token_expired',
    /^the token expired at 2019-04-18T00:37:48.000Z$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, {}, smallstep.iat - 120).attest(token),
    'token_not_yet_valid',
    /^the token was issued in the future/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, { jwksFile: `${interop}keys/${candlepin.keys}` }).attest(token),
    'key_unknown',
    /^no key with kid "3782d3f0bc89008d9d2c01730f765cfb19d3b70e" is trusted for issuer "https:\/\/accounts.google.com"$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, { algorithms: ['ES256'] }).attest(token),
    'algorithm_not_accepted',
    /^the token algorithm "RS256" is not accepted \(accepted: ES256\)$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, { issuer: 'https://accounts.google.com/' }).attest(token),
    'issuer_mismatch',
    /^the token issuer "https:\/\/accounts.google.com" is not "https:\/\/accounts.google.com\/"$/,
  )
  await assertRefused(
    t,
    attestorFor(smallstep, { maxTokenLifetimeSeconds: 3599 }).attest(token),
    'token_lifetime_too_long',
    /^the token is valid for 3600 seconds, longer than the 3599 seconds accepted from this issuer$/,
  )
})
