import type { AttestorKind } from '../attestor-kind.js'
import { createAwsAttestor } from './attestor.js'
import { AwsAttestorConfig } from './config.js'
import { AWS_INSTANCE_IDENTITY_TOKEN_TYPE } from './subject-token.js'

/** EC2 instances, by the identity documents AWS signs; one namespace for the kind. */
export const aws = {
  kind: 'aws',
  configSchema: AwsAttestorConfig,
  tokenTypes: [AWS_INSTANCE_IDENTITY_TOKEN_TYPE],
  identityRoot: 'aws',
  create: createAwsAttestor,
  namespace: () => ({ identity: 'aws', source: 'aws' }),
  sourceForms: (source) => ({ namespaceIsASource: false, shows: [`${source}:<account>[:<region>[:<instance>]]`] }),
  identityForms: () => ['aws/{}/{}/{}'],
  sharedIssuer: () => undefined,
} satisfies AttestorKind<typeof AwsAttestorConfig>
