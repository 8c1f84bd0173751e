import type { AttestorKind } from '../../attestors/attestor-kind.js'
import { ATTESTOR_KINDS, kindOf, type AttestorConfig } from '../../attestors/catalog.js'

/**
 * Where the identities of a trust domain can be, read off the attestor kinds (each kind says the
 * shapes of its identities: src/attestors/attestor-kind.ts identityForms): what the subject rules
 * compare a grant's glob with. Built once per configuration.
 */

/** Identities of one attestor, or of one whole kind, as full SPIFFE ID forms (`{}` for each value). */
export interface IdentityGroup {
  /** Said in a reason: `attestor "prod" (kubernetes)`, `every kubernetes attestor`. */
  label: string
  /** The attestor kind, and whether the group is the whole kind rather than one attestor. */
  kind: string
  wholeKind: boolean
  forms: readonly string[]
}

export interface SharedIssuerGroup extends IdentityGroup {
  immutableIdClaims: readonly string[]
}

export interface IdentityLandscape {
  trustDomain: string
  /** Identities of any first segment, at every depth an attestor mints: what spans the trust domain. */
  anywhere: readonly string[]
  /** Each kind with a root of its own (`k8s`, `github`), then each configured attestor. */
  attestors: readonly IdentityGroup[]
  /** The issuers many tenants share, the kind's own (GitHub's) whether configured or not. */
  sharedIssuers: readonly SharedIssuerGroup[]
}

/** The deepest identity the built-in kinds mint has six segments; an OIDC template may add a couple. */
const DEEPEST = 8

export function identityLandscape(trustDomain: string, attestors: readonly AttestorConfig[]): IdentityLandscape {
  const full = (path: string) => `spiffe://${trustDomain}/${path}`
  const groups: IdentityGroup[] = []
  const shared: SharedIssuerGroup[] = []
  const sharedForms = new Set<string>()
  for (const attestor of attestors) {
    const kind = kindOf(attestor)
    const forms = kind.identityForms(attestor).map(full)
    const label = `attestor "${attestor.name}" (${attestor.kind})`
    groups.push({ label, kind: attestor.kind, wholeKind: false, forms })
    const issuer = kind.sharedIssuer(attestor)
    if (issuer === undefined) continue
    shared.push({ label, kind: attestor.kind, wholeKind: false, forms, immutableIdClaims: issuer.immutableIdClaims })
    for (const form of forms) sharedForms.add(form)
  }
  const kinds: IdentityGroup[] = []
  for (const kind of ATTESTOR_KINDS as readonly AttestorKind[]) {
    const forms = kind.identityForms().map(full)
    if (forms.length === 0) continue
    const label = `every ${kind.kind} attestor`
    kinds.push({ label, kind: kind.kind, wholeKind: true, forms })
    const issuer = kind.sharedIssuer()
    const unconfigured = forms.filter((form) => !sharedForms.has(form))
    if (issuer !== undefined && unconfigured.length > 0)
      shared.push({ label, kind: kind.kind, wholeKind: true, forms: unconfigured, immutableIdClaims: issuer.immutableIdClaims })
  }
  const anywhere = Array.from({ length: DEEPEST - 1 }, (_, index) => full(Array.from({ length: index + 2 }, () => '{}').join('/')))
  return { trustDomain, anywhere, attestors: [...kinds, ...groups], sharedIssuers: shared }
}
