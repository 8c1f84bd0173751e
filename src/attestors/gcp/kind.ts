import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import { createGcpAttestor } from './attestor.js'
import { GcpAttestorConfig } from './config.js'

/** Compute Engine instances, by the instance identity tokens Google signs; one namespace for the kind. */
export const gcp = {
  kind: 'gcp',
  configSchema: GcpAttestorConfig,
  tokenTypes: JWT_TOKEN_TYPES,
  identityRoot: 'gcp',
  create: createGcpAttestor,
  namespace: () => ({ identity: 'gcp', source: 'gcp' }),
  sourceForms: (source) => ({ namespaceIsASource: false, shows: [`${source}:<project>[:<zone>[:<instance>]]`] }),
  identityForms: () => ['gcp/{}/{}/{}'],
  sharedIssuer: () => undefined,
} satisfies AttestorKind<typeof GcpAttestorConfig>
