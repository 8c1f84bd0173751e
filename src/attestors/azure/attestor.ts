import { join } from 'node:path'
import { InvalidGrantError } from '../../errors.js'
import { TOKEN_TYPE } from '../../exchange/token-request.js'
import type { AttestationSource, AttestedIdentity, Attestor } from '../attestor.js'
import type { JwtAttestorDeps } from '../jwt-attestor-config.js'
import { fingerprintOf } from '../single-use.js'
import { decodeAttestedDataToken, verifyAttestedData, type AttestedDataTrust } from './attested-data.js'
import { loadCertificates, shippedTrustDirectory } from './certificates.js'
import type { AzureAttestorConfig } from './config.js'
import { parseAttestedDocument, type AttestedDocument } from './document.js'

import { createAzureManagedIdentityAttestor } from './managed-identity.js'

export { createAzureManagedIdentityAttestor, type AzureManagedIdentityAttestor } from './managed-identity.js'

/*
 * ## Azure (README)
 *
 * One `kind: azure` attestor accepts two things a workload on Azure already holds:
 *
 * 1. **IMDS attested data**, the default for VMs. On the VM:
 *    `curl -H Metadata:true "http://169.254.169.254/metadata/attested/document?api-version=2021-02-01&nonce=<nonce>"`
 *    and send the whole response (`{"encoding":"pkcs7","signature":"..."}`) or its `signature` value as
 *    `subject_token`, with `subject_token_type=urn:seed-sts:token-type:azure-attested-data`.
 *    The PKCS#7 signature is checked with the certificate it embeds, that certificate must be named
 *    `metadata.azure.com` / `*.metadata.azure.com` (Azure Government: `metadata.azure.us`; see
 *    `signerNames`) and chain, through one of the configured intermediates (Microsoft's issuing CAs), to
 *    a configured root, everything valid now. The data must not have expired (`timeStamp.expiresOn`,
 *    six hours after it was fetched, with the clock skew allowed), its `subscriptionId` must be in
 *    `subscriptions` (and its `vmId` in `vms` when given). api-version 2019-04-30 or newer is needed:
 *    older answers carry no subscriptionId and are refused. Each document is accepted once
 *    (`singleUse`, default true, keyed by its signed bytes): fetch a new one, with a new `nonce`, for
 *    every exchange.
 *    Identity: `spiffe://<trustDomain>/azure/<subscriptionId>/vm/<vmId>`; claims `subscriptionId`,
 *    `vmId`, `sku`, `licenseType`, `nonce`, `planName`, `planProduct`, `planPublisher` (those present;
 *    `nonce` is whatever the VM asked IMDS to sign, for replay checks, not for grants); revocable
 *    sources `azure:<subscriptionId>` and `azure:<subscriptionId>:vm:<vmId>`.
 *    Trust material ships in keys/azure/ (the 2025-2029 Microsoft TLS G2 chain, and the expired
 *    intermediates of the published samples). When Azure rotates to a CA not there, a refusal names
 *    it (keys/azure/README.md says how to add it), or point `roots`/`intermediates` at your own copies.
 *
 * 2. **Managed-identity access tokens** (with `managedIdentity` and `tenants` set): on the VM,
 *    `curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<audience>"`
 *    and send its `access_token` as a JWT subject token. RS256, Entra's key set, issuer
 *    `https://sts.windows.net/<tenant>/` or `https://login.microsoftonline.com/<tenant>/v2.0` for a
 *    listed tenant, `aud` the configured audience, app-only (user tokens with `scp` are refused).
 *    A VM's system-assigned identity (`xms_mirid` naming a virtual machine) becomes
 *    `spiffe://<trustDomain>/azure/<tenant>/<subscription>/<resourceGroup>/<vmName>` (lowercased, as
 *    Azure names are case-insensitive); any other principal (user-assigned identity, service principal)
 *    `spiffe://<trustDomain>/azure/<tenant>/principal/<objectId>`. A token whose `xms_mirid` names a
 *    subscription outside `subscriptions` is refused. Sources `azure:<tenant>`, `azure:<subscription>`,
 *    `azure:<tenant>:principal:<objectId>`. Not single-use by default (`managedIdentity.singleUse`):
 *    IMDS hands out the same cached token for hours.
 *
 * Attested data proves "a VM of this subscription, right now"; a managed-identity token proves "this
 * Entra principal". Prefer attested data for VMs (no Entra app registration needed); use managed
 * identities for App Service, Functions, AKS workload identity and user-assigned identities.
 */

/** The `subject_token_type` of IMDS attested data. */
export const AZURE_ATTESTED_DATA_TOKEN_TYPE = TOKEN_TYPE.azureAttestedData

/** The deps every JWT attestor takes; `audience` is what managed-identity tokens must be addressed to unless `managedIdentity.audience` says otherwise. */
export type AzureAttestorDeps = JwtAttestorDeps

const API_VERSION_WITH_SUBSCRIPTION = '2019-04-30'

/**
 * Everything one `kind: azure` configuration accepts: the attested-data attestor (chosen by token
 * type) and, with `managedIdentity`, the managed-identity attestor (chosen by issuer, for each of its
 * `issuers`).
 *
 * @example
 * for (const attestor of createAzureAttestors(config, deps)) register(attestor)
 */
export function createAzureAttestors(config: AzureAttestorConfig, deps: AzureAttestorDeps): Attestor[] {
  const attestedData = createAzureAttestedDataAttestor(config, deps)
  return config.managedIdentity === undefined ? [attestedData] : [attestedData, createAzureManagedIdentityAttestor(config, deps)]
}

/**
 * @example
 * const attestor = createAzureAttestedDataAttestor(AzureAttestorConfig.parse({ kind: 'azure', name: 'azure',
 *   subscriptions: ['05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'] }), deps)
 * const identity = await attestor.attest(imdsAttestedDocumentResponse)
 */
export function createAzureAttestedDataAttestor(config: AzureAttestorConfig, deps: AzureAttestorDeps): Attestor {
  const trust = loadAzureTrust(config)
  return {
    name: config.name,
    kind: 'azure',
    tokenTypes: [AZURE_ATTESTED_DATA_TOKEN_TYPE],
    startupWarnings: () => trustMaterialWarnings(trust, new Date(deps.clock.now())).map((warning) => `attestor ${config.name}: ${warning}`),
    async attest(attestation: string): Promise<AttestedIdentity> {
      const now = deps.clock.now()
      const { content } = verifyAttestedData(decodeAttestedDataToken(attestation, deps.maxAttestationBytes), trust, new Date(now))
      const document = parseAttestedDocument(content)
      checkFreshness(document, now, deps.skewSeconds)
      // Keyed by the signed bytes, not the envelope: bytes outside the signature can change without
      // changing what was attested, and must not make a copy look new.
      const digest = fingerprintOf(content)
      const identity: AttestedIdentity = { ...toIdentity(document, config, deps.trustDomain), fingerprint: digest }
      if (!config.singleUse) return identity
      const until = new Date(document.expiresOn.getTime() + deps.skewSeconds * 1000)
      return { ...identity, singleUse: { key: `azure:${document.subscriptionId}:vm:${document.vmId}|sha256:${digest}`, until } }
    },
  }
}

/** The configured (or shipped) roots and intermediates, read once; throws ConfigError naming the option. */
export function loadAzureTrust(config: AzureAttestorConfig): AttestedDataTrust {
  const shipped = config.roots === undefined || config.intermediates === undefined ? shippedTrustDirectory() : ''
  return {
    roots: loadCertificates(config.roots ?? [join(shipped, 'roots')], `attestor ${config.name}: roots`),
    intermediates: loadCertificates(config.intermediates ?? [join(shipped, 'intermediates')], `attestor ${config.name}: intermediates`),
    signerNames: config.signerNames,
  }
}

/**
 * What an operator should hear at start-up: configured certificates not valid at `at`, and whether any
 * intermediate is (if none is, no attested data can verify).
 *
 * @example
 * for (const warning of trustMaterialWarnings(loadAzureTrust(config), new Date())) log.warn(warning)
 */
export function trustMaterialWarnings(trust: AttestedDataTrust, at: Date): string[] {
  const warnings: string[] = []
  for (const [kind, certificates] of [['root', trust.roots], ['intermediate', trust.intermediates]] as const) {
    for (const c of certificates) {
      if (at > c.notAfter) warnings.push(`azure ${kind} ${JSON.stringify(c.label)} expired at ${c.notAfter.toISOString()}`)
      else if (at < c.notBefore) warnings.push(`azure ${kind} ${JSON.stringify(c.label)} is not valid before ${c.notBefore.toISOString()}`)
    }
  }
  if (!trust.intermediates.some((c) => at >= c.notBefore && at <= c.notAfter)) {
    warnings.push('no configured azure intermediate is valid now: no attested data can verify; add current ones (see keys/azure/README.md)')
  }
  return warnings
}

function checkFreshness(document: AttestedDocument, now: number, skewSeconds: number): void {
  const skew = skewSeconds * 1000
  if (document.createdOn.getTime() > now + skew) {
    throw new InvalidGrantError(`the attested data was created in the future (${document.createdOn.toISOString()})`, 'token_not_yet_valid')
  }
  if (now >= document.expiresOn.getTime() + skew) {
    throw new InvalidGrantError(`the attested data expired at ${document.expiresOn.toISOString()}; fetch it again from IMDS`, 'token_expired')
  }
}

// Below this line the data is verified and fresh; what remains is whether this attestor accepts it.

function toIdentity(document: AttestedDocument, config: AzureAttestorConfig, trustDomain: string): AttestedIdentity {
  const { subscriptionId, vmId } = document
  if (subscriptionId === undefined) {
    throw new InvalidGrantError(
      `the attested data has no subscriptionId, so its subscription cannot be checked; request it with api-version=${API_VERSION_WITH_SUBSCRIPTION} or newer`,
      'claim_missing',
    )
  }
  if (!config.subscriptions.includes(subscriptionId)) {
    throw new InvalidGrantError(`subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`, 'claim_not_allowed')
  }
  if (config.vms !== undefined && !config.vms.includes(vmId)) {
    throw new InvalidGrantError(`VM ${JSON.stringify(vmId)} of subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`, 'claim_not_allowed')
  }
  const optional: Record<string, string | undefined> = {
    sku: document.sku,
    licenseType: document.licenseType,
    nonce: document.nonce,
    planName: document.plan?.name,
    planProduct: document.plan?.product,
    planPublisher: document.plan?.publisher,
  }
  const claims: Record<string, string> = { subscriptionId, vmId }
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) claims[name] = value
  const sources: AttestationSource[] = [{ id: `azure:${subscriptionId}` }, { id: `azure:${subscriptionId}:vm:${vmId}` }]
  return {
    subject: `spiffe://${trustDomain}/azure/${subscriptionId}/vm/${vmId}`,
    attestor: config.name,
    kind: 'azure',
    claims,
    sources,
    expiresAt: document.expiresOn,
  }
}
