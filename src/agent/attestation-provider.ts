import {
  awsInstanceIdentity,
  azureAttestedData,
  azureManagedIdentity,
  fileAttestation,
  gcpIdentityToken,
  githubActions,
  type Attestation,
} from '@seed-sts/client'
import type { AgentAttestationConfig } from './agent-config.js'

/** The client's attestation for the configured `attestation`: each kind maps to one provider. */
export function attestationFor(config: AgentAttestationConfig): Attestation {
  switch (config.kind) {
    case 'kubernetes':
      return fileAttestation({ path: config.path })
    case 'file':
      return fileAttestation({ path: config.path, subjectTokenType: config.subjectTokenType })
    case 'aws':
      return awsInstanceIdentity({ noncePath: config.noncePath, form: config.form, endpoint: config.endpoint })
    case 'gcp':
      return gcpIdentityToken({
        audience: config.audience,
        serviceAccount: config.serviceAccount,
        licenses: config.licenses,
        endpoint: config.endpoint,
      })
    case 'azure':
      return config.managedIdentity === undefined
        ? azureAttestedData({ endpoint: config.endpoint, apiVersion: config.apiVersion })
        : azureManagedIdentity({ ...config.managedIdentity, endpoint: config.endpoint })
    case 'github':
      // Both are there: the configuration refuses a github attestation without them.
      return githubActions({ audience: config.audience, requestUrl: config.requestUrl, requestToken: config.requestToken })
  }
}
