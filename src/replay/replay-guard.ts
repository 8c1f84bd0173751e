/**
 * Single use of attestations: an attestation that says it is single-use (a JWT with a `jti`, an
 * attested document with a nonce) is accepted once within its lifetime, on any instance. The record
 * is SqlReplayGuard (src/replay/sql-replay-guard.ts); Redis may only sit in front of it.
 */
export interface ReplayGuard {
  /**
   * True the first time `key` is claimed before `until`, false ever after (until then). Throws
   * ServiceUnavailableError when it cannot tell: a replay is never let through for want of an answer.
   */
  claim(key: string, until: Date): Promise<boolean>
  close(): Promise<void>
}
