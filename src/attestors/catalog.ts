import type { z } from 'zod'
import type { AttestorConfigSchema, AttestorKind } from './attestor-kind.js'
import { aws } from './aws/kind.js'
import { azure } from './azure/kind.js'
import { gcp } from './gcp/kind.js'
import { github } from './github/kind.js'
import { kubernetes } from './kubernetes/kind.js'
import type { AttestorNamespace } from './namespace.js'
import { oidc } from './oidc/kind.js'

/**
 * The attestor kinds Seed STS has, listed explicitly (as SPIRE's catalog lists its built-in plugins).
 * A new kind is a folder, src/attestors/<kind>/, whose kind.ts describes it (attestor-kind.ts), and one
 * line here. What the rest of the service knows of the kinds is read off this list: the `attestors`
 * entries the configuration accepts (attestors-config.ts), the subject token types the exchange accepts
 * (src/exchange/token-request.ts), how each configured attestor is built (registry.ts), and where its
 * identities and source ids live.
 */
export const ATTESTOR_KINDS = [kubernetes, aws, gcp, azure, github, oidc] as const

type ConfigSchemasOf<Kinds extends readonly AttestorKind<AttestorConfigSchema>[]> = {
  -readonly [I in keyof Kinds]: Kinds[I]['configSchema']
}

/** Each kind's configuration schema, in catalog order: what attestors-config.ts builds its `attestors` union from. */
// Safe: map keeps the order and length of the tuple the type is mapped from.
export const ATTESTOR_CONFIG_SCHEMAS = ATTESTOR_KINDS.map((kind) => kind.configSchema) as ConfigSchemasOf<typeof ATTESTOR_KINDS>

/** One validated entry of `attestors`: the output of its kind's schema. */
export type AttestorConfig = z.output<(typeof ATTESTOR_KINDS)[number]['configSchema']>

/** Every `subject_token_type` an attestation may arrive as, once each, in catalog order. */
export const ATTESTATION_TOKEN_TYPES: readonly string[] = [...new Set(ATTESTOR_KINDS.flatMap((kind) => kind.tokenTypes))]

const BY_KIND: ReadonlyMap<string, AttestorKind> = new Map(ATTESTOR_KINDS.map((kind) => [kind.kind, kind]))

/** The kind of a configuration entry, to build it or ask where it lives. */
export function kindOf(config: AttestorConfig): AttestorKind {
  const kind = BY_KIND.get(config.kind)
  // Unreachable for a configuration the union validated: a programming mistake.
  if (kind === undefined) throw new TypeError(`no attestor kind ${JSON.stringify(config.kind)} in the catalog`)
  return kind
}

/**
 * Where a configured attestor's identities and source ids live. The built-in kinds keep the
 * identities they always had: `k8s/<name>` and `oidc` sources per attestor; `aws`, `gcp`, `azure` and
 * github.com's `github` per kind, so at most one attestor of those.
 *
 * @example
 * namespaceOf({ kind: 'kubernetes', name: 'prod', ... }) // { identity: 'k8s/prod', source: 'k8s:prod' }
 */
export function namespaceOf(config: AttestorConfig): AttestorNamespace {
  return kindOf(config).namespace(config)
}
