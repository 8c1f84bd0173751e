import type { ReplayClaimObserver } from '../observability/observers.js'
import type { ReplayGuard } from './replay-guard.js'

/** A replay guard that tells `observer` how each claim went: first use, replay, or no answer (fail closed). */
export function observeReplayGuard(guard: ReplayGuard, observer: ReplayClaimObserver): ReplayGuard {
  return {
    async claim(key, until) {
      let first: boolean
      try {
        first = await guard.claim(key, until)
      } catch (error) {
        observer.claimed('unavailable')
        throw error
      }
      observer.claimed(first ? 'accepted' : 'replayed')
      return first
    },
    close: () => guard.close(),
  }
}
