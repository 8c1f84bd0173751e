import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import { createOidcAttestor } from './attestor.js'
import { OidcAttestorConfig } from './config.js'
import { exposedName } from './claims.js'
import { oidcIdentityForm, oidcNamespace } from './subject-template.js'

/** Any OIDC issuer with a JWKS; each attestor's namespace is the fixed start of its subject template. */
export const oidc = {
  kind: 'oidc',
  configSchema: OidcAttestorConfig,
  tokenTypes: JWT_TOKEN_TYPES,
  create: createOidcAttestor,
  namespace: (config) => oidcNamespace(config),
  sourceForms: (source) => ({ namespaceIsASource: true, shows: [source] }),
  identityForms: (config) => (config ? [oidcIdentityForm(config)] : []),
  sharedIssuer: (config) => (config?.shared ? { immutableIdClaims: config.immutableIdClaims.map(exposedName) } : undefined),
} satisfies AttestorKind<typeof OidcAttestorConfig>
