import { globMatches } from '../../lib/glob.js'
import type { GuardrailRule } from './rule.js'

/** The rules about what a grant gives and for how long, and whether it says why. */

const DAY_MS = 86_400_000

export const ttlAboveCeiling: GuardrailRule = {
  name: 'ttl-above-ceiling',
  field: 'maxTtlSeconds',
  check(grant, { config }) {
    if (grant.maxTtlSeconds <= config.maxTtlSeconds) return undefined
    return `maxTtlSeconds ${grant.maxTtlSeconds} is above the ceiling of ${config.maxTtlSeconds} (grants.guardrails.maxTtlSeconds)`
  },
}

export const audienceNotAllowed: GuardrailRule = {
  name: 'audience-not-allowed',
  field: 'audiences',
  check(grant, { config }) {
    // No list configured: every audience is allowed.
    if (config.allowedAudiences.length === 0) return undefined
    const outside = grant.audiences.filter((audience) => !config.allowedAudiences.some((allowed) => globMatches(allowed, audience)))
    if (outside.length === 0) return undefined
    return `${outside.map((audience) => JSON.stringify(audience)).join(', ')} ${outside.length === 1 ? 'is' : 'are'} not among the allowed audiences (grants.guardrails.allowedAudiences)`
  },
}

export const expiryTooFar: GuardrailRule = {
  name: 'expiry-too-far',
  field: 'expiresAt',
  check(grant, { config, now }) {
    const days = (grant.expiresAt.getTime() - now.getTime()) / DAY_MS
    if (days <= config.maxLifetimeDays) return undefined
    return `expiresAt is ${Math.ceil(days)} days away, more than ${config.maxLifetimeDays} (grants.guardrails.maxLifetimeDays)`
  },
}

export const descriptionMissing: GuardrailRule = {
  name: 'description-missing',
  field: 'description',
  check(grant) {
    if (grant.description.trim() !== '') return undefined
    return 'no description: say why the grant exists, for the next person who reads it'
  },
}
