import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import { createGitHubAttestor, githubNamespace } from './attestor.js'
import { GitHubAttestorConfig } from './config.js'

/**
 * GitHub Actions jobs, by their OIDC tokens: github.com's under `github`, any other issuer's under the
 * attestor's own name.
 */
export const github = {
  kind: 'github',
  configSchema: GitHubAttestorConfig,
  tokenTypes: JWT_TOKEN_TYPES,
  identityRoot: 'github',
  create: createGitHubAttestor,
  namespace: (config) => githubNamespace(config),
  sourceForms: (source) => ({
    namespaceIsASource: false,
    shows: [`${source}:<owner>[/<repository>]`, `${source}:repository_id:<id>`, `${source}:repository_owner_id:<id>`],
  }),
  identityForms: (config) => [`${config ? githubNamespace(config).identity : 'github'}/{}/{}`],
  // Every GitHub user can run a workflow; a deleted repository's or owner's name can be registered again.
  sharedIssuer: () => ({ immutableIdClaims: ['repository_id', 'repository_owner_id'] }),
} satisfies AttestorKind<typeof GitHubAttestorConfig>
