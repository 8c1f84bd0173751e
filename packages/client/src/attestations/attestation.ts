/**
 * What a token source presents to Seed STS: an attestation the workload already holds, fetched anew
 * for every exchange (some are single-use, all expire). One small interface, one module per kind.
 */

/** `subject_token_type` of a JWT: Kubernetes, GCP, Azure managed identity, GitHub Actions, OIDC. */
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
/**
 * `subject_token_type` (or `actor_token_type`) of an access token of Seed STS itself: a token to
 * narrow, or to delegate with an actor (RFC 8693 section 3).
 */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
/** `subject_token_type` of an EC2 instance identity document (Seed STS's own). */
export const AWS_INSTANCE_IDENTITY_TOKEN_TYPE = 'urn:seed-sts:token-type:aws-instance-identity'
/** `subject_token_type` of Azure IMDS attested data (Seed STS's own). */
export const AZURE_ATTESTED_DATA_TOKEN_TYPE = 'urn:seed-sts:token-type:azure-attested-data'

/** The two parameters of a token exchange that carry the attestation (RFC 8693 §2.1). */
export interface SubjectToken {
  subjectToken: string
  subjectTokenType: string
}

/** What an attestation is given each time it is asked for one. */
export interface AttestationContext {
  /** Aborted when the token source closes or gives up on the request. */
  signal: AbortSignal
  /** The token source's clock, in milliseconds: expiry checks use it, so tests can move it. */
  now: () => number
}

/** A source of attestations: asked for a fresh one before every exchange. */
export interface Attestation {
  /** For messages: `file`, `aws`, `gcp`, `azure-attested-data`, `github-actions`, `custom`... */
  readonly kind: string
  subjectToken(context: AttestationContext): Promise<SubjectToken>
}

/**
 * An attestation could not be had. `retryable` ones (a metadata endpoint that did not answer, a
 * projected token that expired before the kubelet rotated it) are tried again with backoff; the
 * others (a metadata endpoint that refuses, a nonce file others may read) wait for a person.
 */
export class AttestationError extends Error {
  override readonly name = 'AttestationError'
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
