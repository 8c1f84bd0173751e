import t from 'tap'
import { createAzureManagedIdentityAttestor } from '../../../src/attestors/azure/managed-identity.js'
import { ENTRA_JWKS_URI } from '../../../src/attestors/azure/config.js'
import { ConfigError } from '../../../src/config.js'
import { ServiceUnavailableError } from '../../../src/errors.js'
import { assertRefused, countingFetcher, frozenClock, jwks, makeKey, NOW, signToken } from '../../support/attestors/jwt-attestations.js'
import { azureConfig, azureDeps } from '../../support/attestors/azure-attested.js'

// Managed-identity access tokens from Microsoft Entra. No real sample exists: keys of our own stand in
// for Entra's, served by a fake JWKS fetcher.

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const OTHER_TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
const SUBSCRIPTION = '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'
const OID = '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
const APP_ID = '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d'
const AUDIENCE = 'api://seed-sts'
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`
const V2_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`
const VM_RESOURCE = `/subscriptions/${SUBSCRIPTION}/resourcegroups/payments-prod/providers/Microsoft.Compute/virtualMachines/api-vm-1`

const entra = await makeKey('RS256', 'entra-1')
const impostor = await makeKey('RS256', 'entra-1')
const ec = await makeKey('ES256', 'entra-ec')
const config = azureConfig({ subscriptions: [SUBSCRIPTION], tenants: [TENANT.toUpperCase()], managedIdentity: {} })
const fetcher = countingFetcher(jwks(entra, ec))
const attestor = createAzureManagedIdentityAttestor(config, azureDeps(NOW * 1000, { clock: frozenClock(), fetchJwks: fetcher.fetch }))

/** Claims of a managed identity's v1 access token (what IMDS hands a VM), valid for a day around NOW. */
function miClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: AUDIENCE,
    iss: V1_ISSUER,
    iat: NOW - 300,
    nbf: NOW - 300,
    exp: NOW + 86_100,
    aio: 'E2ZgYJg...',
    appid: APP_ID,
    appidacr: '2',
    idp: V1_ISSUER,
    oid: OID,
    rh: '0.AAAA...',
    sub: OID,
    tid: TENANT,
    uti: 'qwerty',
    ver: '1.0',
    xms_mirid: VM_RESOURCE,
    ...overrides,
  }
}

t.test('a VM system-assigned identity becomes the VM, by tenant, subscription, resource group and name', async (t) => {
  t.match(attestor, { name: 'azure', kind: 'azure', issuer: V1_ISSUER, issuers: [V1_ISSUER, V2_ISSUER] })
  t.same(await attestor.attest(await signToken(entra, miClaims())), {
    subject: `spiffe://example.org/azure/${TENANT}/${SUBSCRIPTION}/payments-prod/api-vm-1`,
    attestor: 'azure',
    kind: 'azure',
    claims: {
      tenantId: TENANT,
      objectId: OID,
      appId: APP_ID,
      subscriptionId: SUBSCRIPTION,
      resourceGroup: 'payments-prod',
      resourceId: VM_RESOURCE.toLowerCase(),
      vmName: 'api-vm-1',
    },
    sources: [{ id: `azure:${TENANT}` }, { id: `azure:${SUBSCRIPTION}` }, { id: `azure:${TENANT}:principal:${OID}` }],
    expiresAt: new Date((NOW + 86_100) * 1000),
  })
  t.same(fetcher.calls, [ENTRA_JWKS_URI], "Entra's common key set, fetched once")
  const v2 = await attestor.attest(await signToken(entra, miClaims({ iss: V2_ISSUER, ver: '2.0', azp: APP_ID, appid: undefined })))
  t.equal(v2.subject, `spiffe://example.org/azure/${TENANT}/${SUBSCRIPTION}/payments-prod/api-vm-1`, 'v2 tokens too')
  t.equal(v2.claims.appId, APP_ID, 'azp is the app id of a v2 token')
  const mixedCase = await attestor.attest(
    await signToken(entra, miClaims({ xms_mirid: VM_RESOURCE.replace('payments-prod', 'Payments-Prod').replace('api-vm-1', 'API-VM-1') })),
  )
  t.equal(
    mixedCase.subject,
    `spiffe://example.org/azure/${TENANT}/${SUBSCRIPTION}/payments-prod/api-vm-1`,
    'Azure names are case-insensitive: lowercased',
  )
})

t.test('any other principal becomes principal/<objectId>', async (t) => {
  const userAssigned = `/subscriptions/${SUBSCRIPTION}/resourcegroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deployer`
  const identity = await attestor.attest(await signToken(entra, miClaims({ xms_mirid: userAssigned })))
  t.equal(identity.subject, `spiffe://example.org/azure/${TENANT}/principal/${OID}`)
  t.same(identity.claims, {
    tenantId: TENANT,
    objectId: OID,
    appId: APP_ID,
    subscriptionId: SUBSCRIPTION,
    resourceGroup: 'identities',
    resourceId: userAssigned.toLowerCase(),
  })
  const servicePrincipal = await attestor.attest(await signToken(entra, miClaims({ xms_mirid: undefined })))
  t.equal(servicePrincipal.subject, `spiffe://example.org/azure/${TENANT}/principal/${OID}`)
  t.same(servicePrincipal.sources, [{ id: `azure:${TENANT}` }, { id: `azure:${TENANT}:principal:${OID}` }])
  const oddGroup = await attestor.attest(
    await signToken(entra, miClaims({ xms_mirid: VM_RESOURCE.replace('payments-prod', 'payments(prod)') })),
  )
  t.equal(
    oddGroup.subject,
    `spiffe://example.org/azure/${TENANT}/principal/${OID}`,
    'a name a SPIFFE ID cannot hold keeps the principal form',
  )
  t.match(oddGroup.claims, { resourceGroup: 'payments(prod)', vmName: 'api-vm-1' })
})

t.test('tenant, issuer, audience and subscription are checked', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ iss: `https://sts.windows.net/${OTHER_TENANT}/`, tid: OTHER_TENANT }))),
    'issuer_unknown',
    new RegExp(`^the token issuer "https://sts.windows.net/${OTHER_TENANT}/" is not a Microsoft Entra tenant allowed by attestor azure$`),
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ iss: `https://sts.windows.net/${TENANT}` }))),
    'issuer_unknown',
    /is not a Microsoft Entra tenant allowed/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ iss: `https://login.microsoftonline.com/${TENANT}/` }))),
    'issuer_unknown',
    /is not a Microsoft Entra tenant allowed/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ tid: OTHER_TENANT }))),
    'claim_invalid',
    new RegExp(`^the token tenant \\("tid"\\) "${OTHER_TENANT}" does not match its issuer's tenant "${TENANT}"$`),
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ aud: 'https://management.azure.com/' }))),
    'audience_mismatch',
    /^the token is addressed to "https:\/\/management.azure.com\/", not to "api:\/\/seed-sts"$/,
  )
  const own = createAzureManagedIdentityAttestor(
    azureConfig({
      subscriptions: [SUBSCRIPTION],
      tenants: [TENANT],
      managedIdentity: { audience: 'c0ffee00-0000-4000-8000-000000000000' },
    }),
    azureDeps(NOW * 1000, { fetchJwks: fetcher.fetch }),
  )
  t.ok(
    await own.attest(await signToken(entra, miClaims({ aud: 'c0ffee00-0000-4000-8000-000000000000' }))),
    'managedIdentity.audience overrides the top-level one',
  )
  const elsewhere = VM_RESOURCE.replace(SUBSCRIPTION, '11111111-2222-3333-4444-555555555555')
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ xms_mirid: elsewhere }))),
    'claim_not_allowed',
    /^subscription "11111111-2222-3333-4444-555555555555" is not allowed by attestor azure$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ xms_mirid: '/subscriptions/x' }))),
    'claim_invalid',
    /^the token resource id \("xms_mirid"\) "\/subscriptions\/x" is not an Azure resource id$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ oid: 'someone' }))),
    'claim_invalid',
    /^the token object id \("oid"\) "someone" is not a GUID$/,
  )
})

t.test('only app-only RS256 tokens signed by Entra, not expired, are accepted', async (t) => {
  await assertRefused(t, attestor.attest(await signToken(impostor, miClaims())), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, miClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "ES256" is not accepted \(accepted: RS256\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ scp: 'user_impersonation' }))),
    'token_kind_not_accepted',
    /^the token was issued to a user \(delegated "scp"\); only app-only tokens/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ idtyp: 'user' }))),
    'token_kind_not_accepted',
    /^the token was issued to a user/,
  )
  await assertRefused(t, attestor.attest(await signToken(entra, miClaims({ exp: NOW - 61 }))), 'token_expired', /^the token expired at/)
  await assertRefused(
    t,
    attestor.attest(await signToken(entra, miClaims({ iat: NOW, exp: NOW + 90_001 }))),
    'token_lifetime_too_long',
    /^the token is valid for 90001 seconds, longer than the 90000 seconds accepted from this issuer$/,
  )
  await assertRefused(t, attestor.attest('not-a-jwt'), 'attestation_malformed', /not a JWT/)
})

t.test('a token with a bad signature is refused for its signature, whatever else is wrong with it', async (t) => {
  // `impostor` signs under the kid of Entra's key: only the signature check can tell.
  const bad: [string, Record<string, unknown>][] = [
    ['another audience', miClaims({ aud: 'https://management.azure.com/' })],
    ['an expiry long past', miClaims({ iat: NOW - 7200, exp: NOW - 3600 })],
    ["a user's delegated token", miClaims({ scp: 'user_impersonation' })],
    ['another tenant', miClaims({ tid: OTHER_TENANT })],
    ['a subscription not allowed', miClaims({ xms_mirid: VM_RESOURCE.replace(SUBSCRIPTION, '11111111-2222-3333-4444-555555555555') })],
  ]
  for (const [what, claims] of bad) {
    await assertRefused(t, attestor.attest(await signToken(impostor, claims)), 'signature_invalid', /^the token signature is invalid$/)
    t.pass(`refused for its signature, not for ${what}`)
  }
})

t.test('not single-use by default (IMDS re-sends one cached token for hours); single-use when configured', async (t) => {
  const token = await signToken(entra, miClaims({ uti: 'uti-1' }))
  t.notOk('singleUse' in (await attestor.attest(token)))
  const once = createAzureManagedIdentityAttestor(
    azureConfig({ subscriptions: [SUBSCRIPTION], tenants: [TENANT], managedIdentity: { singleUse: true } }),
    azureDeps(NOW * 1000, { fetchJwks: fetcher.fetch }),
  )
  t.same((await once.attest(await signToken(entra, miClaims({ jti: 'token-1' })))).singleUse, {
    key: `${V1_ISSUER}|jti:token-1`,
    until: new Date((NOW + 86_100 + 60) * 1000),
  })
})

t.test('an unreachable Entra key set is a 503, not a refusal', async (t) => {
  const down = countingFetcher(null)
  down.answer = async () => {
    throw new Error('connect ECONNREFUSED')
  }
  const offline = createAzureManagedIdentityAttestor(config, azureDeps(NOW * 1000, { clock: frozenClock(), fetchJwks: down.fetch }))
  await assertRefused(
    t,
    offline.attest(await signToken(entra, miClaims())),
    'jwks_unavailable',
    /^the signing keys of issuer "Microsoft Entra ID" cannot be fetched right now$/,
    ServiceUnavailableError,
  )
})

t.test('without managedIdentity and tenants there is no managed-identity attestor', async (t) => {
  t.throws(() => createAzureManagedIdentityAttestor(azureConfig(), azureDeps(NOW * 1000)), ConfigError)
})
