import { join } from 'node:path'
import { InvalidGrantError } from '../../errors.js'
import { packageRoot } from '../../lib/package-root.js'
import type { AttestationSource, AttestedIdentity, Attestor, AttestorDeps } from '../attestor.js'
import { fingerprintOf } from '../single-use.js'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE, decodeAttestedDataToken, verifyAttestedData, type AttestedDataTrust } from './attested-data.js'
import { loadCertificates } from './certificates.js'
import type { AzureAttestorConfig } from './config.js'
import { parseAttestedDocument, type AttestedDocument } from './document.js'

/**
 * Azure VMs, by IMDS attested data (kind.ts describes the kind as a whole): PKCS#7-signed by
 * Microsoft, chained to configured roots, fresh, and of an allowed subscription.
 */

const API_VERSION_WITH_SUBSCRIPTION = '2019-04-30'

/**
 * @example
 * const attestor = createAzureAttestedDataAttestor(AzureAttestorConfig.parse({ kind: 'azure', name: 'azure',
 *   subscriptions: ['05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'] }), deps)
 * const identity = await attestor.attest(imdsAttestedDocumentResponse)
 */
export function createAzureAttestedDataAttestor(config: AzureAttestorConfig, deps: AttestorDeps): Attestor {
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
  const shipped = config.roots === undefined || config.intermediates === undefined ? join(packageRoot(), 'keys', 'azure') : ''
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
  for (const [kind, certificates] of [
    ['root', trust.roots],
    ['intermediate', trust.intermediates],
  ] as const) {
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
    throw new InvalidGrantError(
      `the attested data expired at ${document.expiresOn.toISOString()}; fetch it again from IMDS`,
      'token_expired',
    )
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
    throw new InvalidGrantError(
      `subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`,
      'claim_not_allowed',
    )
  }
  if (config.vms !== undefined && !config.vms.includes(vmId)) {
    throw new InvalidGrantError(
      `VM ${JSON.stringify(vmId)} of subscription ${JSON.stringify(subscriptionId)} is not allowed by attestor ${config.name}`,
      'claim_not_allowed',
    )
  }
  const optional: Record<string, string | undefined> = {
    sku: document.sku,
    licenseType: document.licenseType,
    // Whatever the VM asked IMDS to sign: for the VM's own replay checks, not something to grant on.
    // Whatever the VM asked IMDS to sign: for the VM's own replay checks, not something to grant on.
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
