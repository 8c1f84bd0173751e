import { join } from 'node:path'
import { InvalidGrantError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import { globMatches } from '../../lib/glob.js'
import { packageRoot } from '../../lib/package-root.js'
import type { AttestedIdentity, Attestor } from '../attestor.js'
import { fingerprintOf } from '../single-use.js'
import type { AwsAttestorConfig } from './config.js'
import type { InstanceIdentityDocument } from './document.js'
import { createInstanceIdentityVerifier } from './instance-identity.js'
import { AWS_INSTANCE_IDENTITY_TOKEN_TYPE, parseAwsSubjectToken } from './subject-token.js'
import { AwsTrustStore } from './trust.js'

/**
 * EC2 instances, by their instance identity document (see subject-token.ts for what they send). The
 * identity is the instance: `spiffe://<trustDomain>/aws/<accountId>/<region>/<instanceId>`, every
 * part read from the signed document. Accounts are an allow-list and must be configured; regions may
 * be.
 */

export interface AwsAttestorDeps {
  trustDomain: string
  clock: Clock
  maxAttestationBytes: number
  /** Tolerance for a PKCS#7 signing time slightly ahead of our clock; default 60. */
  skewSeconds?: number
}

export interface AwsAttestor extends Attestor {
  /** The `subject_token_type` this attestor answers to: AWS_INSTANCE_IDENTITY_TOKEN_TYPE. */
  readonly tokenTypes: readonly string[]
}

/**
 * @example
 * const attestor = createAwsAttestor(AwsAttestorConfig.parse({ kind: 'aws', name: 'prod-aws', accounts: ['111122223333'] }),
 *   { trustDomain: 'example.org', clock: systemClock, maxAttestationBytes: 16_384 })
 * const identity = await attestor.attest('{"rsa2048": "MIAGCSqG..."}')
 * identity.subject // 'spiffe://example.org/aws/111122223333/eu-west-1/i-0123456789abcdef0'
 */
export function createAwsAttestor(config: AwsAttestorConfig, deps: AwsAttestorDeps): AwsAttestor {
  // Read once, at start-up: a missing or unreadable certificate stops the service with a ConfigError.
  const source = `attestor ${config.name}: certificates`
  const trust = AwsTrustStore.fromFiles(config.certificates ?? [join(packageRoot(), 'keys', 'aws')], source)
  const verifier = createInstanceIdentityVerifier({ certificates: trust, clock: deps.clock, skewSeconds: deps.skewSeconds ?? 60 })
  const accounts = new Set(config.accounts)
  return {
    name: config.name,
    kind: 'aws',
    tokenTypes: [AWS_INSTANCE_IDENTITY_TOKEN_TYPE],
    async attest(attestation: string): Promise<AttestedIdentity> {
      const subjectToken = parseAwsSubjectToken(attestation, deps.maxAttestationBytes)
      const { document, signedBytes } = verifier.verify(subjectToken)
      // Verified from here on: the values are AWS's, and now the question is whether we accept them.
      if (!accounts.has(document.accountId)) {
        throw new InvalidGrantError(`account "${document.accountId}" is not allowed by attestor "${config.name}"`, 'claim_not_allowed')
      }
      if (config.regions !== undefined && !config.regions.some((pattern) => globMatches(pattern, document.region))) {
        throw new InvalidGrantError(`region "${document.region}" is not allowed by attestor "${config.name}"`, 'claim_not_allowed')
      }
      if (config.maxDocumentAgeSeconds !== undefined) checkLaunchAge(document, config, deps)
      // Keyed by the signed document, not the JSON wrapping or base64 line breaks around it.
      const identity: AttestedIdentity = { ...toIdentity(document, config.name, deps.trustDomain), fingerprint: fingerprintOf(signedBytes) }
      // The document never expires: the exchange admits the instance against its registration (the
      // nonce is the instance's own secret, never part of what AWS signed) and, if configured, its address.
      identity.registration = { instance: `${document.accountId}/${document.region}/${document.instanceId}`, mode: config.reattestation }
      if (subjectToken.nonce !== undefined) identity.registration.nonce = subjectToken.nonce
      if (config.bindToPrivateIp) {
        if (document.privateIp === undefined)
          throw new InvalidGrantError(
            `instance "${document.instanceId}" has no privateIp to bind to (bindToPrivateIp of attestor "${config.name}")`,
            'claim_missing',
          )
        identity.boundAddress = document.privateIp
      }
      return identity
    },
  }
}

function checkLaunchAge(document: InstanceIdentityDocument, config: AwsAttestorConfig, deps: AwsAttestorDeps): void {
  const ageSeconds = (deps.clock.now() - document.pendingTime.getTime()) / 1000
  const launched = document.pendingTime.toISOString()
  if (ageSeconds < -(deps.skewSeconds ?? 60)) {
    throw new InvalidGrantError(
      `instance "${document.instanceId}" was launched at ${launched}, which is in the future`,
      'token_not_yet_valid',
    )
  }
  if (ageSeconds > config.maxDocumentAgeSeconds!) {
    throw new InvalidGrantError(
      `instance "${document.instanceId}" was launched at ${launched}, ` +
        `more than the ${config.maxDocumentAgeSeconds} seconds ago accepted by attestor "${config.name}"`,
      'attestation_too_old',
    )
  }
}

function toIdentity(document: InstanceIdentityDocument, attestor: string, trustDomain: string): AttestedIdentity {
  const { accountId, region, instanceId } = document
  const claims: Record<string, string> = { accountId, region }
  const optional = {
    availabilityZone: document.availabilityZone,
    instanceId,
    instanceType: document.instanceType,
    imageId: document.imageId,
    architecture: document.architecture,
    privateIp: document.privateIp,
  }
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) claims[name] = value
  return {
    subject: `spiffe://${trustDomain}/aws/${accountId}/${region}/${instanceId}`,
    attestor,
    kind: 'aws',
    claims,
    sources: [{ id: `aws:${accountId}` }, { id: `aws:${accountId}:${region}` }, { id: `aws:${accountId}:${region}:${instanceId}` }],
  }
}
