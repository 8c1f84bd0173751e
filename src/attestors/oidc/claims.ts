import { InvalidGrantError } from '../../errors.js'
import type { JwtPayload } from '../../jose/jwt-verifier.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import { objectClaim } from '../jwt-attestor.js'

/** How an OIDC attestor's configuration names a claim: its name, or a dot path into objects (`realm_access.role`). */
export const CLAIM_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/** The name a claim is exposed to grant conditions under: its path, a "." becoming "_". */
export function exposedName(path: string): string {
  return path.replaceAll('.', '_')
}

/** A claim's value as a string for matching; undefined when absent; refused when not a scalar. */
export function scalarClaim(payload: JwtPayload, path: string): string | undefined {
  const value = claimAt(payload, path)
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value)
  throw new InvalidGrantError(
    `the token claim "${path}" is ${quoteUntrusted(value)}; only strings, numbers and booleans can be matched`,
    'claim_invalid',
  )
}

/** The value at a claim path of a verified payload, or undefined. */
export function claimAt(payload: JwtPayload, path: string): unknown {
  let value: unknown = payload
  for (const key of path.split('.')) {
    const object = objectClaim(value)
    // Own properties only: a path like "constructor" or "__proto__" must not reach Object.prototype.
    if (object === undefined || !Object.hasOwn(object, key)) return undefined
    value = object[key]
  }
  return value
}
