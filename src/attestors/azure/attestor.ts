import { join } from 'node:path'
import { InvalidGrantError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import type { AttestationSource, AttestedIdentity, Attestor, JwksFetcher } from '../attestor.js'
import { decodeAttestedDataToken, verifyAttestedData, type AttestedDataTrust } from './attested-data.js'
import { loadCertificates, shippedTrustDirectory } from './certificates.js'
import type { AzureAttestorConfig } from './config.js'
import { parseAttestedDocument, type AttestedDocument } from './document.js'

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
 *    older answers carry no subscriptionId and are refused.
 *    Identity: `spiffe://<trustDomain>/azure/<subscriptionId>/vm/<vmId>`; claims `subscriptionId`,
 *    `vmId`, `sku`, `licenseType`, `nonce`, `planName`, `planProduct`, `planPublisher` (those present);
 *    revocable sources `azure:<subscriptionId>` and `azure:<subscriptionId>:vm:<vmId>`.
 *    Trust material ships in keys/azure/ (see its README to add Microsoft's newer intermediates).
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
 *    `azure:<tenant>:principal:<objectId>`.
 *
 * Attested data proves "a VM of this subscription, right now"; a managed-identity token proves "this
 * Entra principal". Prefer attested data for VMs (no Entra app registration needed); use managed
 * identities for App Service, Functions, AKS workload identity and user-assigned identities.
 */

/** The `subject_token_type` of IMDS attested data. */
export const AZURE_ATTESTED_DATA_TOKEN_TYPE = 'urn:seed-sts:token-type:azure-attested-data'

export interface AzureAttestorDeps {
  trustDomain: string
  /** What managed-identity tokens must be addressed to unless `managedIdentity.audience` says otherwise. */
  audience: string
  clock: Clock
  skewSeconds: number
  maxAttestationBytes: number
  fetchJwks: JwksFetcher
}

const API_VERSION_WITH_SUBSCRIPTION = '2019-04-30'

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
    async attest(attestation: string): Promise<AttestedIdentity> {
      const now = deps.clock.now()
      const { content } = verifyAttestedData(decodeAttestedDataToken(attestation, deps.maxAttestationBytes), trust, new Date(now))
      const document = parseAttestedDocument(content)
      checkFreshness(document, now, deps.skewSeconds)
      return toIdentity(document, config, deps.trustDomain)
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

function checkFreshness(document: AttestedDocument, now: number, skewSeconds: number): void {
  const skew = skewSeconds * 1000
  if (document.createdOn.getTime() > now + skew) {
    throw new InvalidGrantError(`the attested data was created in the future (${document.createdOn.toISOString()})`)
  }
  if (now >= document.expiresOn.getTime() + skew) {
    throw new InvalidGrantError(`the attested data expired at ${document.expiresOn.toISOString()}; fetch it again from IMDS`)
  }
}

// Below this line the data is verified and fresh; what remains is whether this attestor accepts it.

function toIdentity(document: AttestedDocument, config: AzureAttestorConfig, trustDomain: string): AttestedIdentity {
  const { subscriptionId, vmId } = document
  if (subscriptionId === undefined) {
    throw new InvalidGrantError(
      `the attested data has no subscriptionId, so its subscription cannot be checked; request it with api-version=${API_VERSION_WITH_SUBSCRIPTION} or newer`,
    )
  }
  if (!config.subscriptions.includes(subscriptionId)) {
    throw new InvalidGrantError(`subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`)
  }
  if (config.vms !== undefined && !config.vms.includes(vmId)) {
    throw new InvalidGrantError(`VM ${JSON.stringify(vmId)} of subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`)
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
