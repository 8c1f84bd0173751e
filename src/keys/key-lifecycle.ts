import type { SigningKey } from './signing-key.js'

/**
 * How long verifiers may cache the JWKS by default (keys.jwksMaxAgeSeconds): its Cache-Control max-age
 * (src/http/discovery-routes.ts), and so part of how long a new key waits before it signs.
 */
export const JWKS_MAX_AGE_SECONDS = 300

/**
 * The timing rules of a key's life, as pure functions of the keys and a time, so they can be tested
 * with a fake clock and applied by whichever instance runs the maintenance.
 *
 * - A new key is published as `next` and signs only once every verifier can have it: the JWKS may be
 *   cached for `jwksMaxAgeMs` (its Cache-Control max-age), and a replica may take up to
 *   `propagationMs` to publish it (its staleness bound on the keys table, plus the clock skew allowed
 *   between replicas). So a verifier that fetched the JWKS from any replica just before the key
 *   appeared there has fetched again before the first token signed with it.
 * - A retired key stays published until every token it signed has expired: a replica may still sign
 *   with it for up to `propagationMs` after it was retired, and a token lives at most
 *   `maxTokenLifetimeMs`.
 * - On a schedule (`rotateEveryMs`, 0 for never), the next key is made early enough that it takes over
 *   when the current one has signed for that long.
 */
export interface KeyTimings {
  jwksMaxAgeMs: number
  propagationMs: number
  maxTokenLifetimeMs: number
  rotateEveryMs: number
}

/** What the maintenance has to do now. */
export type KeyStep =
  | { action: 'create-next' }
  /** `kid` (the next key) starts signing; `retire`, the current one, stops. */
  | { action: 'activate'; kid: string; retire?: string }
  | { action: 'remove'; kid: string }

/** The earliest time a `next` key may sign. */
export function activatesAt(key: Pick<SigningKey, 'publishedAt'>, timings: KeyTimings): Date {
  return new Date(key.publishedAt.getTime() + timings.jwksMaxAgeMs + timings.propagationMs)
}

/** Until when a key retired at `retiredAt` stays published. */
export function removeAfter(retiredAt: Date, timings: KeyTimings): Date {
  return new Date(retiredAt.getTime() + timings.maxTokenLifetimeMs + timings.propagationMs)
}

/** Every step due at `now`, in the order to take them. */
export function dueSteps(keys: readonly SigningKey[], now: Date, timings: KeyTimings): KeyStep[] {
  const steps: KeyStep[] = []
  const current = keys.find((key) => key.state === 'current')
  const next = keys.find((key) => key.state === 'next')
  if (next && activatesAt(next, timings).getTime() <= now.getTime()) {
    steps.push({ action: 'activate', kid: next.kid, ...(current ? { retire: current.kid } : {}) })
  } else if (!next && current && rotationDue(current, now, timings)) {
    steps.push({ action: 'create-next' })
  }
  for (const key of keys) {
    if (key.state === 'retired' && key.removeAfter !== null && key.removeAfter.getTime() <= now.getTime()) {
      steps.push({ action: 'remove', kid: key.kid })
    }
  }
  return steps
}

/** The next key is due once the current one is within the publication wait of its rotation. */
function rotationDue(current: SigningKey, now: Date, timings: KeyTimings): boolean {
  if (timings.rotateEveryMs <= 0 || current.activatedAt === null) return false
  const rotateAt = current.activatedAt.getTime() + timings.rotateEveryMs
  return now.getTime() >= rotateAt - timings.jwksMaxAgeMs - timings.propagationMs
}
