import type { z } from 'zod'
import type { Attestor, AttestorDeps } from './attestor.js'
import type { AttestorNamespace } from './namespace.js'

/**
 * One kind of attestor as the catalog (catalog.ts) lists it, like a SPIRE built-in plugin: the
 * configuration it takes, the token types it is presented as, how to build it, and where its identities
 * and source ids live. Each kind's folder, src/attestors/<kind>/, exports one from its kind.ts; nothing
 * else in the service knows anything about a particular kind.
 *
 * @example
 * export const kubernetes = {
 *   kind: 'kubernetes',
 *   configSchema: KubernetesAttestorConfig,
 *   tokenTypes: JWT_TOKEN_TYPES,
 *   identityRoot: 'k8s',
 *   create: createKubernetesAttestor,
 *   namespace: (config) => ({ identity: `k8s/${config.name}`, source: `k8s:${config.name}` }),
 *   sourceForms: (source) => ({ namespaceIsASource: true, shows: [source, `${source}:node:<node>`] }),
 * } satisfies AttestorKind<typeof KubernetesAttestorConfig>
 */
export interface AttestorKind<Schema extends AttestorConfigSchema = AttestorConfigSchema> {
  /** What `kind:` says in the configuration; the literal of the schema's own `kind` field. */
  readonly kind: z.output<Schema>['kind']
  /**
   * Validates one entry of `attestors` in the configuration and fills in its defaults, reporting every
   * problem with a path inside the entry. A zod object with a literal `kind`, so the configuration can
   * pick it by `kind` (attestors-config.ts).
   */
  readonly configSchema: Schema
  /**
   * The `subject_token_type`s its attestations arrive as (JWT_TOKEN_TYPES for JWTs, which are routed by
   * issuer). The exchange accepts these and no others from the attestor kinds.
   */
  readonly tokenTypes: readonly string[]
  /**
   * The first path segment of every identity it mints, when the kind fixes it (`k8s`, `aws`) rather
   * than the configuration: reserved, so that no attestor of another kind can mint under it
   * (RESERVED_FIRST_SEGMENTS in namespace.ts, which the catalog's test holds to this).
   */
  readonly identityRoot?: string
  // Methods, not function-valued properties: a kind's own configuration type narrows the parameter,
  // and the catalog holds every kind as an AttestorKind, calling each only with a configuration that
  // its own schema produced (found by its `kind`).
  /** The attestors one configuration entry yields (Azure: two); throws ConfigError for trust material it cannot load. */
  create(config: z.output<Schema>, deps: AttestorDeps): Attestor | Attestor[]
  /** Where the identities and source ids of the attestors of this entry live (namespace.ts). */
  namespace(config: z.output<Schema>): AttestorNamespace
  /**
   * What its source ids look like to people, given its source namespace (`k8s:prod`), and whether the
   * namespace itself is one of them: what a revocation of a source is checked against (source-forms.ts).
   */
  sourceForms(sourceNamespace: string): { namespaceIsASource: boolean; shows: string[] }
  /**
   * The shapes of the identities it mints, for the grant guardrails (src/grants/guardrails/): SPIFFE ID
   * paths with `{}` for each segment value the attestor does not fix, such as `k8s/prod/ns/{}/sa/{}`.
   * With a configuration, that attestor's; without, every identity under the kind's `identityRoot`
   * (none for a kind without one).
   */
  identityForms(config?: z.output<Schema>): string[]
  /**
   * Whether the issuer is shared by many tenants (anyone can run a GitHub Actions job): then a grant
   * that can match its identities must pin one of `immutableIdClaims` by a condition, since names can
   * be registered again by someone else. Undefined for an issuer that only its owner's workloads use.
   */
  sharedIssuer(config?: z.output<Schema>): SharedIssuer | undefined
}

/** An issuer many tenants share, and the claims of its tokens that are immutable ids (never re-assigned). */
export interface SharedIssuer {
  immutableIdClaims: readonly string[]
}

/** A kind's configuration schema: an object with a `kind` literal the union is chosen by, and a `name`. */
export type AttestorConfigSchema = z.ZodType<{ kind: string; name: string }, unknown> & z.core.$ZodTypeDiscriminable
