import { z } from 'zod'
import { AttestorName, checkKeySource, jwtIssuerFields } from '../jwt-issuer-config.js'

/**
 * One `kind: kubernetes` attestor: a cluster, by the issuer of its service-account tokens and where
 * its keys come from (exactly one of jwks, jwksFile, jwksUri).
 *
 * ```yaml
 * attestors:
 *   - kind: kubernetes
 *     name: prod                       # the cluster's name in identities: spiffe://<td>/k8s/prod/...
 *     issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969
 *     jwksUri: https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969/keys
 * ```
 */
export const KubernetesAttestorConfig = z
  .object({
    kind: z.literal('kubernetes'),
    name: AttestorName,
    // Not single-use by default: the kubelet hands a pod the same projected token for most of its
    // hour, and the pod exchanges it again at every refresh.
    ...jwtIssuerFields(z.string().min(1), { algorithms: ['RS256', 'ES256'], maxTokenLifetimeSeconds: 86_400, singleUse: false }),
  })
  .strict()
  .superRefine((config, ctx) => checkKeySource(config, ctx))
export type KubernetesAttestorConfig = z.infer<typeof KubernetesAttestorConfig>
