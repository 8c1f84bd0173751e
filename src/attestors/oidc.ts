import { z } from 'zod'
import { InvalidGrantError } from '../errors.js'
import { globMatches } from '../lib/glob.js'
import type { AttestedIdentity, JwtAttestor } from './attestor.js'
import { parseUntrustedJwt, type JwtPayload, type UntrustedJwt } from './jwt-verifier.js'
import { AttestorName, checkKeySource, createIssuerVerifier, IssuerUrl, jwtIssuerFields, objectClaim, withSingleUse, type JwtAttestorDeps } from './jwt-attestor-config.js'
import { quoteUntrusted } from './untrusted.js'

/**
 * Any OIDC issuer with a JWKS (GitLab CI, Buildkite, an IdP's workload tokens): the identity is rendered
 * from a template of verified claims, `subjectTemplate: "ci/gitlab/{claims.project_id}"` giving
 * `spiffe://<trustDomain>/ci/gitlab/42`; `requiredClaims` must match their globs; the `claims` listed
 * are exposed to grant conditions.
 *
 * Trust boundary: a claim value becomes part of a SPIFFE ID only if it is one plain path segment
 * (1 to 128 of A-Z a-z 0-9 . _ -, never "." or ".."). The template's leading whole segments of fixed
 * text (`ci/gitlab` above) are the attestor's namespace: its first segment is none of the built-in
 * kinds', and no other attestor's namespace may equal or begin it, or be begun by it (namespace.ts).
 * Claim values keep the case the issuer gives them: only the issuer knows whether case matters.
 */

/** First path segments of the built-in kinds: an OIDC template may not start with one. */
export const RESERVED_FIRST_SEGMENTS = ['k8s', 'gcp', 'github', 'aws', 'azure'] as const
const SEGMENT_TEXT = /^[A-Za-z0-9._-]+$/
const SEGMENT_VALUE = /^[A-Za-z0-9._-]{1,128}$/
const JTI = /^[\x21-\x7E]{1,256}$/
const CLAIM_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/
/** What grant conditions accept as a claim name (src/grants/grant.ts). */
const CONDITION_CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

const ClaimPath = z.string().regex(CLAIM_PATH, 'must be a claim name or a dot path, e.g. project_path or realm_access.role')
const ExposedClaim = z.string().refine((path) => CLAIM_PATH.test(path) && CONDITION_CLAIM_NAME.test(exposedName(path)), {
  error: 'must be a claim name or dot path that grant conditions can name: letters, digits, "_" (a "." becomes "_"), starting with a letter, at most 64',
})
const Globs = z.union([z.string().min(1).max(512), z.array(z.string().min(1).max(512)).min(1).max(50)])

export const OidcAttestorConfig = z
  .object({
    kind: z.literal('oidc'),
    name: AttestorName,
    // Single-use by default (by jti, else by hash); an issuer that hands out one token many times needs `singleUse: false`.
    ...jwtIssuerFields(IssuerUrl, { algorithms: ['RS256', 'ES256'], maxTokenLifetimeSeconds: 3600, singleUse: true }),
    /**
     * The SPIFFE ID path: fixed text and placeholders `{sub}`, `{claims.<dot.path>}`, `{iss_host}`
     * (the issuer's host name), `{name}` (this attestor's name), e.g. `oidc/{name}/{sub}`.
     */
    subjectTemplate: z.string().min(1).max(512),
    /** Claims exposed to grant conditions, strings, numbers or booleans; `a.b` is exposed as `a_b`. */
    claims: z.array(ExposedClaim).max(64).default([]),
    /** Claim (dot path) -> glob, or globs of which one must match; a missing claim never matches. */
    requiredClaims: z.record(ClaimPath, Globs).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkKeySource(config, ctx)
    const template = compileSubjectTemplate(config.subjectTemplate, config)
    if (typeof template === 'string') ctx.addIssue({ code: 'custom', path: ['subjectTemplate'], message: template })
    const seen = new Map<string, string>()
    config.claims.forEach((path, index) => {
      const name = exposedName(path)
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['claims', index], message: `"${path}" and "${seen.get(name)}" would both be exposed as "${name}"` })
      seen.set(name, path)
    })
  })
export type OidcAttestorConfig = z.infer<typeof OidcAttestorConfig>

/** A template segment: fixed text, or the value of the claim at a path. */
type Part = string | { claim: string }
type Template = Part[][]

/**
 * @example
 * const attestor = createOidcAttestor(OidcAttestorConfig.parse({ kind: 'oidc', name: 'gitlab', issuer: 'https://gitlab.com',
 *   jwksUri: 'https://gitlab.com/oauth/discovery/keys', subjectTemplate: 'ci/gitlab/{claims.project_id}',
 *   claims: ['project_path', 'ref'], requiredClaims: { namespace_path: 'acme' } }), deps)
 * const identity = await attestor.attest(ciJobJwt) // identity.subject === 'spiffe://example.org/ci/gitlab/42'
 */
export function createOidcAttestor(config: OidcAttestorConfig, deps: JwtAttestorDeps): JwtAttestor {
  const verifier = createIssuerVerifier(config, deps)
  const template = compileSubjectTemplate(config.subjectTemplate, config)
  // Unreachable after schema validation: a programming mistake, not a bad token.
  if (typeof template === 'string') throw new TypeError(`attestor ${config.name}: subjectTemplate: ${template}`)
  const exposed = config.claims.map((path) => ({ name: exposedName(path), path }))
  const required = Object.entries(config.requiredClaims).map(([path, globs]) => ({ path, globs: typeof globs === 'string' ? [globs] : globs }))
  return {
    name: config.name,
    kind: 'oidc',
    issuer: config.issuer,
    async attest(attestation: string): Promise<AttestedIdentity> {
      return this.attestJwt(parseUntrustedJwt(attestation, deps.maxAttestationBytes))
    },
    async attestJwt(jwt: UntrustedJwt): Promise<AttestedIdentity> {
      const { payload } = await verifier.verify(jwt)
      // Verified from here on; the values are still checked before they name anything.
      for (const { path, globs } of required) {
        const value = scalarClaim(payload, path)
        if (value === undefined) throw new InvalidGrantError(`the token has no "${path}" claim, which attestor ${JSON.stringify(config.name)} requires`, 'claim_missing')
        if (!globs.some((glob) => globMatches(glob, value))) {
          throw new InvalidGrantError(`the token claim "${path}" is ${quoteUntrusted(value)}, which attestor ${JSON.stringify(config.name)} does not accept`, 'claim_not_allowed')
        }
      }
      const claims: Record<string, string> = {}
      for (const { name, path } of exposed) {
        const value = scalarClaim(payload, path)
        if (value !== undefined) claims[name] = value
      }
      const { jti } = payload
      if (jti !== undefined) {
        if (typeof jti !== 'string' || !JTI.test(jti)) throw new InvalidGrantError(`the token id ("jti") ${quoteUntrusted(jti)} is not valid`, 'claim_invalid')
        claims.jti = jti
      }
      const identity: AttestedIdentity = {
        subject: `spiffe://${deps.trustDomain}/${renderSubject(template, payload)}`,
        attestor: config.name,
        kind: 'oidc',
        claims,
        sources: [{ id: oidcNamespace(config).source }],
        expiresAt: new Date(payload.exp * 1000),
      }
      return withSingleUse(identity, jwt, payload, config, deps)
    },
  }
}

/**
 * The attestor's namespace: the template's leading segments that are fixed text (`{name}` and
 * `{iss_host}` are fixed for an attestor), and `oidc:<name>` for source ids.
 *
 * @example
 * oidcNamespace({ name: 'gitlab', issuer: 'https://gitlab.com', subjectTemplate: 'ci/gitlab/{claims.project_id}' })
 * // { identity: 'ci/gitlab', source: 'oidc:gitlab' }
 */
export function oidcNamespace(config: Pick<OidcAttestorConfig, 'name' | 'issuer' | 'subjectTemplate'>): { identity: string; source: string } {
  const template = compileSubjectTemplate(config.subjectTemplate, config)
  // Unreachable after schema validation: a programming mistake, not a bad configuration.
  if (typeof template === 'string') throw new TypeError(`attestor ${config.name}: subjectTemplate: ${template}`)
  const fixed: string[] = []
  for (const parts of template) {
    if (!parts.every((part) => typeof part === 'string')) break
    fixed.push(parts.join(''))
  }
  return { identity: fixed.join('/'), source: `oidc:${config.name}` }
}

function exposedName(path: string): string {
  return path.replaceAll('.', '_')
}

/** Compiles a subject template, or says what is wrong with it. */
export function compileSubjectTemplate(text: string, config: { name: string; issuer: string }): Template | string {
  const segments = text.split('/')
  if (segments.some((segment) => segment === '')) return 'must be a path: no leading, trailing or doubled "/"'
  const first = segments[0]!
  if (!SEGMENT_TEXT.test(first)) return `must start with fixed text, e.g. "oidc/{name}/{sub}" (found ${JSON.stringify(first)})`
  if ((RESERVED_FIRST_SEGMENTS as readonly string[]).includes(first.toLowerCase())) {
    return `must not start with "${first}/", which belongs to the built-in ${first} attestor`
  }
  const template: Template = []
  for (const segment of segments) {
    const parts: Part[] = []
    for (const [, placeholder, text] of segment.matchAll(/\{([^{}]*)\}|([^{}]+|[{}])/g)) {
      if (text !== undefined) {
        if (!SEGMENT_TEXT.test(text)) return `${JSON.stringify(text)} cannot be part of a SPIFFE ID path (only A-Z a-z 0-9 . _ - and placeholders in {})`
        parts.push(text)
        continue
      }
      const part = placeholderPart(placeholder!, config)
      if (typeof part === 'string' && !SEGMENT_TEXT.test(part)) return `{${placeholder}} is ${JSON.stringify(part)}, which cannot be part of a SPIFFE ID path`
      if (part === undefined) return `{${placeholder}} is not a placeholder: use {sub}, {claims.<name or dot path>}, {iss_host} or {name}`
      parts.push(part)
    }
    if (parts.every((part) => typeof part === 'string') && (parts.join('') === '.' || parts.join('') === '..')) return 'must not have a "." or ".." segment'
    template.push(parts)
  }
  return template
}

function placeholderPart(placeholder: string, config: { name: string; issuer: string }): Part | undefined {
  if (placeholder === 'name') return config.name
  if (placeholder === 'iss_host') return URL.canParse(config.issuer) ? new URL(config.issuer).hostname : ''
  if (placeholder === 'sub') return { claim: 'sub' }
  const path = placeholder.startsWith('claims.') ? placeholder.slice('claims.'.length) : undefined
  return path !== undefined && CLAIM_PATH.test(path) ? { claim: path } : undefined
}

function renderSubject(template: Template, payload: JwtPayload): string {
  return template
    .map((parts) => {
      const segment = parts.map((part) => (typeof part === 'string' ? part : segmentValue(payload, part.claim))).join('')
      if (segment === '.' || segment === '..') throw new InvalidGrantError(`the token claims render the identity path segment "${segment}", which is not accepted`, 'claim_invalid')
      return segment
    })
    .join('/')
}

function segmentValue(payload: JwtPayload, path: string): string {
  const value = claimAt(payload, path)
  if (value === undefined) throw new InvalidGrantError(`the token has no "${path}" claim, which the identity template needs`, 'claim_missing')
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value
  if (typeof text !== 'string' || !SEGMENT_VALUE.test(text)) {
    throw new InvalidGrantError(`the token claim "${path}" is ${quoteUntrusted(value)}, which cannot be part of an identity (1 to 128 of A-Z a-z 0-9 . _ -)`, 'claim_invalid')
  }
  return text
}

/** A claim's value as a string for matching; undefined when absent; refused when not a scalar. */
function scalarClaim(payload: JwtPayload, path: string): string | undefined {
  const value = claimAt(payload, path)
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value)
  throw new InvalidGrantError(`the token claim "${path}" is ${quoteUntrusted(value)}; only strings, numbers and booleans can be matched`, 'claim_invalid')
}

function claimAt(payload: JwtPayload, path: string): unknown {
  let value: unknown = payload
  for (const key of path.split('.')) {
    const object = objectClaim(value)
    // Own properties only: a path like "constructor" or "__proto__" must not reach Object.prototype.
    if (object === undefined || !Object.hasOwn(object, key)) return undefined
    value = object[key]
  }
  return value
}
