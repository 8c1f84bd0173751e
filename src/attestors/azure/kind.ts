import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import type { Attestor, AttestorDeps } from '../attestor.js'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE } from './attested-data.js'
import { createAzureAttestedDataAttestor } from './attestor.js'
import { AzureAttestorConfig } from './config.js'
import { createAzureManagedIdentityAttestor } from './managed-identity.js'

/*
 * One `kind: azure` attestor accepts IMDS attested data (VMs) and, with `managedIdentity` and `tenants`,
 * managed-identity access tokens: what to send, the identities, claims and sources of each, and the
 * trust material: README.md, "Azure attestor". Attested data proves "a VM of this subscription, right
 * now"; a managed-identity token proves "this Entra principal".
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
  // Attested data; a VM's system-assigned identity; any other principal.
  identityForms: () => ['azure/{}/vm/{}', 'azure/{}/{}/{}/{}', 'azure/{}/principal/{}'],
  sharedIssuer: () => undefined,
} satisfies AttestorKind<typeof AzureAttestorConfig>
