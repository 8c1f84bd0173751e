/**
 * What the client's calls to Seed STS fail with: the OAuth error of the answer (RFC 6749 §5.2) and
 * its description when the STS refused, or the HTTP status alone when it gave no OAuth body.
 */
export class StsError extends Error {
  override readonly name = 'StsError'

  constructor(
    /** The OAuth `error` code, such as `invalid_grant`; `server_error` when the answer had none. */
    readonly error: string,
    /** The OAuth `error_description`, when the STS gave one. */
    readonly description: string | undefined,
    /** The HTTP status, or undefined when no answer came (a network error). */
    readonly status: number | undefined,
    options?: { cause?: unknown; reason?: string },
  ) {
    super(
      description === undefined ? error : `${error}: ${description}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    if (options?.reason !== undefined) this.reason = options.reason
  }

  /**
   * Seed STS's `error_reason`, when the answer carried one: a stable word for which refusal it is
   * (`token_expired`, `nonce_mismatch`, `revoked`...), to switch on where `error` is too coarse.
   */
  readonly reason?: string
}
