/**
 * How long to wait before trying again: exponential backoff with full jitter (each wait uniform in
 * [0, min(cap, base·2^attempt)]), so clients that failed together do not retry together. When the STS
 * said `Retry-After`, never sooner than that, and spread over up to one base step beyond it, since a
 * whole fleet was told the same number.
 */
export interface BackoffPolicy {
  baseDelayMs: number
  maxDelayMs: number
}

export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number, retryAfterMs?: number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30))
  const jittered = random() * step
  if (retryAfterMs === undefined) return jittered
  return Math.max(jittered, retryAfterMs + random() * policy.baseDelayMs)
}
