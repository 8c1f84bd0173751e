import type { Actor } from '../audit/audit-log.js'
import type { Page, PageRequest } from '../lib/page.js'
import type { Registration, RegistrationFilter } from './registration.js'

/**
 * How an attested instance may attest again:
 * - `nonce`: the first attestation registers the nonce the instance chose; every later one must bring
 *   the same nonce (a copied document without it gets nothing, and a thief who registers first locks
 *   the real instance out, which is loud);
 * - `never`: one attestation per instance, ever;
 * - `always`: no binding (the document alone suffices: only with other defences).
 */
export type ReattestationMode = 'nonce' | 'never' | 'always'

export interface RegistrationRequest {
  /** The attestor's name: registrations are per attestor. */
  attestor: string
  /** E.g. the EC2 instance id. */
  instance: string
  nonce?: string
  mode: ReattestationMode
  clientAddress: string
  now: Date
}

/** What a tidy did: the registrations it forgot. */
export interface TidyOutcome {
  forgotten: Registration[]
}

/**
 * Instance registrations: which instance attested first, and with what nonce. Operators read and
 * forget them through the admin API; every forgetting is on the audit log, on the same transaction
 * as the change.
 */
export interface RegistrationStore {
  /** Registers a first attestation or checks a later one; throws InvalidGrantError when refused. */
  admit(request: RegistrationRequest): Promise<void>
  get(attestor: string, instance: string): Promise<Registration | undefined>
  /** A page in (attestor, instance) order. Throws InvalidInputError for a cursor it did not hand out. */
  list(filter: RegistrationFilter & PageRequest): Promise<Page<Registration>>
  /**
   * Forgets an instance, so it can register afresh (after a legitimate loss of its nonce), and says
   * so on the audit log. Undefined when there was no such registration.
   */
  forget(attestor: string, instance: string, reason: string, now: Date, actor: Actor): Promise<Registration | undefined>
  /**
   * Forgets at most `limit` registrations last seen before `lastSeenBefore`, oldest first, each on the
   * audit log as an automatic action of `actor`, saying `reason`.
   */
  tidy(lastSeenBefore: Date, limit: number, now: Date, actor: Actor, reason: string): Promise<TidyOutcome>
}
