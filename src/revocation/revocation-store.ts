/** What can be revoked. Issue-wide: a token (jti), a subject, a grant, an attestation source. */
export type RevocationKind = 'token' | 'subject' | 'grant' | 'source'

export interface RevocationTarget {
  kind: RevocationKind
  value: string
}

export interface RevocationStore {
  /**
   * The first of `targets` that is revoked, or undefined when none is. Throws ServiceUnavailableError
   * when revocation state cannot be read: callers fail closed, never assume "not revoked".
   */
  findRevoked(targets: RevocationTarget[]): Promise<RevocationTarget | undefined>
  /** Marks a target revoked, until `expiresAt` if given (then it may be forgotten). */
  revoke(target: RevocationTarget, expiresAt?: Date): Promise<void>
  /** Lifts a revocation. */
  lift(target: RevocationTarget): Promise<void>
  close(): Promise<void>
}
