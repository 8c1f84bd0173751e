/**
 * @seed-sts/client: the public entry point. Everything a user may import is exported from here.
 */
export { StsError } from './errors.js'
export {
  tokenSource,
  type TokenSource,
  type TokenSourceOptions,
  type AccessToken,
  type AccessTokenRequest,
  type ResourceRequestHeaders,
} from './token-source/token-source.js'
export type { DpopAlgorithm, DpopOptions } from './token-source/dpop-proofs.js'
export type { TokenSourceEvent } from './token-source/token-slot.js'
export type { Clock, Timers, TimerHandle } from './token-source/time.js'
export {
  AttestationError,
  JWT_TOKEN_TYPE,
  ACCESS_TOKEN_TYPE,
  AWS_INSTANCE_IDENTITY_TOKEN_TYPE,
  AZURE_ATTESTED_DATA_TOKEN_TYPE,
  type Attestation,
  type AttestationContext,
  type SubjectToken,
} from './attestations/attestation.js'
export { fileAttestation, type FileAttestationOptions } from './attestations/file.js'
export { awsInstanceIdentity, type AwsInstanceIdentityOptions } from './attestations/aws-instance-identity.js'
export { gcpIdentityToken, type GcpIdentityTokenOptions } from './attestations/gcp-identity-token.js'
export { azureAttestedData, type AzureAttestedDataOptions } from './attestations/azure-attested-data.js'
export { azureManagedIdentity, type AzureManagedIdentityOptions } from './attestations/azure-managed-identity.js'
export { githubActions, type GithubActionsOptions } from './attestations/github-actions.js'
export { customAttestation, type AttestationFunction } from './attestations/custom.js'
export { accessTokenAttestation, type AccessTokenInput } from './attestations/access-token.js'
export { createVerifier, type ResourceRequest, type Verifier } from './verifier/verifier.js'
export type { RevocationOptions, StreamLoss, StreamLostPolicy, VerifierOptions, VerifierStatus } from './verifier/verifier-options.js'
export type { AccessTokenClaims, VerifiedToken } from './verifier/claims.js'
export type { ActorClaim } from './verifier/delegation.js'
export { TokenRefusedError, VerifierUnavailableError, type RevocationKind, type TokenRefusal } from './verifier/errors.js'
