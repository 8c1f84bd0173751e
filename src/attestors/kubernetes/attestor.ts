import { InvalidGrantError } from '../../errors.js'
import type { JwtPayload } from '../../jose/jwt-verifier.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import type { AttestationSource, AttestedIdentity, AttestorDeps, JwtAttestor } from '../attestor.js'
import { createJwtAttestor, objectClaim } from '../jwt-attestor.js'
import type { KubernetesAttestorConfig } from './config.js'

/**
 * Kubernetes projected service-account tokens (the `serviceAccountToken` volume, `kubectl create
 * token`): audience-bound, expiring JWTs signed by the cluster's service-account issuer. The identity is
 * the service account: `spiffe://<trustDomain>/k8s/<cluster>/ns/<namespace>/sa/<serviceAccount>`.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS_SUBDOMAIN_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const UID = /^[A-Za-z0-9-]{1,64}$/
/** The flat claims of a legacy Secret-based token (`kubernetes.io/serviceaccount/namespace`...). */
const LEGACY_CLAIM_PREFIX = 'kubernetes.io/serviceaccount/'

/**
 * @example
 * const attestor = createKubernetesAttestor(KubernetesAttestorConfig.parse(entry), { trustDomain, audience, clock: systemClock,
 *   skewSeconds: 60, maxAttestationBytes: 16_384, fetchJwks: createHttpJwksFetcher(5000) })
 * const identity = await attestor.attest(projectedToken)
 */
export function createKubernetesAttestor(config: KubernetesAttestorConfig, deps: AttestorDeps): JwtAttestor {
  const audience = config.audience ?? deps.audience
  // Signed by the cluster, but never expiring and bound to no audience: refused with a way forward.
  const refuseLegacyToken = (payload: Record<string, unknown>): void => {
    if (Object.keys(payload).some((claim) => claim.startsWith(LEGACY_CLAIM_PREFIX))) {
      throw new InvalidGrantError(
        'this is a legacy Secret-based service-account token, which never expires and is not bound to an audience; ' +
          `use a projected service-account token instead (a serviceAccountToken volume with audience ${JSON.stringify(audience)}, ` +
          `or kubectl create token <service-account> --audience ${JSON.stringify(audience)})`,
        'token_kind_not_accepted',
      )
    }
  }
  return createJwtAttestor(config, deps, {
    kind: 'kubernetes',
    inspect: refuseLegacyToken,
    identify: (payload) => toIdentity(payload, config, deps.trustDomain),
  })
}

// Below this line the token is verified, but its claims still become part of a SPIFFE ID, source ids
// and grant conditions: each is checked against what Kubernetes itself allows.

function toIdentity(payload: JwtPayload, config: KubernetesAttestorConfig, trustDomain: string): AttestedIdentity {
  const k8s = objectClaim(payload['kubernetes.io'])
  if (k8s === undefined) {
    throw new InvalidGrantError('the token has no "kubernetes.io" claim; it is not a projected service-account token', 'claim_missing')
  }
  const namespace = k8s.namespace
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) {
    throw new InvalidGrantError(
      `the token namespace ${quoteUntrusted(namespace)} is not a valid Kubernetes namespace name`,
      'claim_invalid',
    )
  }
  const serviceAccount = objectClaim(k8s.serviceaccount)
  const serviceAccountName = serviceAccount?.name
  if (typeof serviceAccountName !== 'string' || !isDnsSubdomain(serviceAccountName)) {
    throw new InvalidGrantError(
      `the token service account ${quoteUntrusted(serviceAccountName)} is not a valid Kubernetes service account name`,
      'claim_invalid',
    )
  }
  const expectedSubject = `system:serviceaccount:${namespace}:${serviceAccountName}`
  if (payload.sub !== expectedSubject) {
    throw new InvalidGrantError(
      `the token subject ${quoteUntrusted(payload.sub)} does not match its namespace and service account (expected ${JSON.stringify(expectedSubject)})`,
      'claim_invalid',
    )
  }
  const pod = objectClaim(k8s.pod)
  const node = objectClaim(k8s.node)
  const optional = {
    serviceAccountUid: optionalClaim(serviceAccount?.uid, 'service account uid', isUid),
    podName: optionalClaim(pod?.name, 'pod name', isDnsSubdomain),
    podUid: optionalClaim(pod?.uid, 'pod uid', isUid),
    nodeName: optionalClaim(node?.name, 'node name', isDnsSubdomain),
    nodeUid: optionalClaim(node?.uid, 'node uid', isUid),
  }
  const claims: Record<string, string> = { cluster: config.name, issuer: config.issuer, namespace, serviceAccount: serviceAccountName }
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) claims[name] = value

  const cluster = `k8s:${config.name}`
  const sources: AttestationSource[] = [{ id: cluster }]
  if (optional.nodeName !== undefined) sources.push({ id: `${cluster}:node:${optional.nodeName}` })
  if (optional.podUid !== undefined) sources.push({ id: `${cluster}:pod:${optional.podUid}` })
  return {
    subject: `spiffe://${trustDomain}/k8s/${config.name}/ns/${namespace}/sa/${serviceAccountName}`,
    attestor: config.name,
    kind: 'kubernetes',
    claims,
    sources,
    expiresAt: new Date(payload.exp * 1000),
  }
}

function optionalClaim(value: unknown, what: string, valid: (value: string) => boolean): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !valid(value))
    throw new InvalidGrantError(`the token ${what} ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
  return value
}

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => DNS_SUBDOMAIN_LABEL.test(label))
}

function isUid(value: string): boolean {
  return UID.test(value)
}
