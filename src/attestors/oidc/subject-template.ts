import { InvalidGrantError } from '../../errors.js'
import type { JwtPayload } from '../../jose/jwt-verifier.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import { RESERVED_FIRST_SEGMENTS } from '../namespace.js'
import { CLAIM_PATH, claimAt } from './claims.js'

/**
 * The SPIFFE ID path of an OIDC attestor's identities: fixed text and placeholders of verified claims,
 * compiled once from `subjectTemplate` and rendered for each token. A claim value becomes part of a
 * SPIFFE ID only if it is one plain path segment (1 to 128 of A-Z a-z 0-9 . _ -, never "." or "..").
 */

const SEGMENT_TEXT = /^[A-Za-z0-9._-]+$/
const SEGMENT_VALUE = /^[A-Za-z0-9._-]{1,128}$/

/** A template segment: fixed text, or the value of the claim at a path. */
type Part = string | { claim: string }
export type Template = Part[][]

/**
 * The attestor's namespace: the template's leading segments that are fixed text (`{name}` and
 * `{iss_host}` are fixed for an attestor), and `oidc:<name>` for source ids.
 *
 * @example
 * oidcNamespace({ name: 'gitlab', issuer: 'https://gitlab.com', subjectTemplate: 'ci/gitlab/{claims.project_id}' })
 * // { identity: 'ci/gitlab', source: 'oidc:gitlab' }
 */
export function oidcNamespace(config: { name: string; issuer: string; subjectTemplate: string }): { identity: string; source: string } {
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

/**
 * The shape of the attestor's identities, `{}` for each claim value (src/attestors/attestor-kind.ts
 * identityForms).
 *
 * @example
 * oidcIdentityForm({ name: 'gitlab', issuer: 'https://gitlab.com', subjectTemplate: 'ci/gitlab/{claims.project_id}' })
 * // 'ci/gitlab/{}'
 */
export function oidcIdentityForm(config: { name: string; issuer: string; subjectTemplate: string }): string {
  const template = compileSubjectTemplate(config.subjectTemplate, config)
  // Unreachable after schema validation: a programming mistake, not a bad configuration.
  if (typeof template === 'string') throw new TypeError(`attestor ${config.name}: subjectTemplate: ${template}`)
  return template.map((parts) => parts.map((part) => (typeof part === 'string' ? part : '{}')).join('')).join('/')
}

/** Compiles a subject template, or says what is wrong with it. */
export function compileSubjectTemplate(text: string, config: { name: string; issuer: string }): Template | string {
  const segments = text.split('/')
  if (segments.some((segment) => segment === '')) return 'must be a path: no leading, trailing or doubled "/"'
  const first = segments[0]
  if (!SEGMENT_TEXT.test(first)) return `must start with fixed text, e.g. "oidc/{name}/{sub}" (found ${JSON.stringify(first)})`
  if ((RESERVED_FIRST_SEGMENTS as readonly string[]).includes(first.toLowerCase())) {
    return `must not start with "${first}/", which belongs to the built-in ${first} attestor`
  }
  const template: Template = []
  for (const segment of segments) {
    const parts: Part[] = []
    for (const [, placeholder, text] of segment.matchAll(/\{([^{}]*)\}|([^{}]+|[{}])/g)) {
      if (text !== undefined) {
        if (!SEGMENT_TEXT.test(text))
          return `${JSON.stringify(text)} cannot be part of a SPIFFE ID path (only A-Z a-z 0-9 . _ - and placeholders in {})`
        parts.push(text)
        continue
      }
      const part = placeholderPart(placeholder, config)
      if (typeof part === 'string' && !SEGMENT_TEXT.test(part))
        return `{${placeholder}} is ${JSON.stringify(part)}, which cannot be part of a SPIFFE ID path`
      if (part === undefined) return `{${placeholder}} is not a placeholder: use {sub}, {claims.<name or dot path>}, {iss_host} or {name}`
      parts.push(part)
    }
    if (parts.every((part) => typeof part === 'string') && (parts.join('') === '.' || parts.join('') === '..'))
      return 'must not have a "." or ".." segment'
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

/** The identity path a verified token's claims give; refuses values that cannot be a path segment. */
export function renderSubject(template: Template, payload: JwtPayload): string {
  return template
    .map((parts) => {
      const segment = parts.map((part) => (typeof part === 'string' ? part : segmentValue(payload, part.claim))).join('')
      if (segment === '.' || segment === '..')
        throw new InvalidGrantError(
          `the token claims render the identity path segment "${segment}", which is not accepted`,
          'claim_invalid',
        )
      return segment
    })
    .join('/')
}

function segmentValue(payload: JwtPayload, path: string): string {
  const value = claimAt(payload, path)
  if (value === undefined)
    throw new InvalidGrantError(`the token has no "${path}" claim, which the identity template needs`, 'claim_missing')
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value
  if (typeof text !== 'string' || !SEGMENT_VALUE.test(text)) {
    throw new InvalidGrantError(
      `the token claim "${path}" is ${quoteUntrusted(value)}, which cannot be part of an identity (1 to 128 of A-Z a-z 0-9 . _ -)`,
      'claim_invalid',
    )
  }
  return text
}
