import { JWT_TOKEN_TYPES } from '../../oauth/token-types.js'
import type { AttestorKind } from '../attestor-kind.js'
import { createKubernetesAttestor } from './attestor.js'
import { KubernetesAttestorConfig } from './config.js'

/** Kubernetes clusters, by their projected service-account tokens; one namespace per cluster. */
export const kubernetes = {
  kind: 'kubernetes',
  configSchema: KubernetesAttestorConfig,
  tokenTypes: JWT_TOKEN_TYPES,
  identityRoot: 'k8s',
  create: createKubernetesAttestor,
  namespace: (config) => ({ identity: `k8s/${config.name}`, source: `k8s:${config.name}` }),
  sourceForms: (source) => ({ namespaceIsASource: true, shows: [source, `${source}:node:<node>`, `${source}:pod:<uid>`] }),
  identityForms: (config) => [`k8s/${config?.name ?? '{}'}/ns/{}/sa/{}`],
  sharedIssuer: () => undefined,
} satisfies AttestorKind<typeof KubernetesAttestorConfig>
