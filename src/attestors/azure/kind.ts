import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import type { Attestor, AttestorDeps } from '../attestor.js'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE } from './attested-data.js'
import { createAzureAttestedDataAttestor } from './attestor.js'
import { AzureAttestorConfig } from './config.js'
import { createAzureManagedIdentityAttestor } from './managed-identity.js'

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

/**
 * Everything one `kind: azure` configuration accepts: the attested-data attestor (chosen by token
 * type) and, with `managedIdentity`, the managed-identity attestor (chosen by issuer, for each of its
 * `issuers`).
 *
 * @example
 * for (const attestor of createAzureAttestors(config, deps)) register(attestor)
 */
export function createAzureAttestors(config: AzureAttestorConfig, deps: AttestorDeps): Attestor[] {
  const attestedData = createAzureAttestedDataAttestor(config, deps)
  return config.managedIdentity === undefined ? [attestedData] : [attestedData, createAzureManagedIdentityAttestor(config, deps)]
}

/** Azure VMs by attested data, and (with `managedIdentity`) Entra principals by their tokens; one namespace for the kind. */
export const azure = {
  kind: 'azure',
  configSchema: AzureAttestorConfig,
  tokenTypes: [AZURE_ATTESTED_DATA_TOKEN_TYPE, ...JWT_TOKEN_TYPES],
  identityRoot: 'azure',
  create: createAzureAttestors,
  namespace: () => ({ identity: 'azure', source: 'azure' }),
  sourceForms: (source) => ({ namespaceIsASource: false, shows: [`${source}:<subscription or tenant>[:vm:<vm>|:principal:<object>]`] }),
} satisfies AttestorKind<typeof AzureAttestorConfig>
