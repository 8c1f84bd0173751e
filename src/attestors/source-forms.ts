import { kindOf, namespaceOf, type AttestorConfig } from './catalog.js'

/**
 * What the attestation sources of a configured attestor look like: the ids attestors put in
 * `AttestedIdentity.sources` (each kind says so in its kind.ts), so a `source` revocation can be
 * checked against what could ever match. `exact` is a whole source id; `prefix` starts every other one.
 */
export interface SourceForm {
  exact?: string
  prefix: string
  /** For people: `k8s:prod:node:<node>`. */
  shows: string[]
}

/**
 * The source forms of the configured attestors, in the order configured: each begins with its
 * attestor's source namespace (src/attestors/namespace.ts), which no other attestor shares.
 */
export function sourceFormsOf(configs: readonly AttestorConfig[]): SourceForm[] {
  return configs.map((config): SourceForm => {
    const namespace = namespaceOf(config).source
    const { namespaceIsASource, shows } = kindOf(config).sourceForms(namespace)
    return { ...(namespaceIsASource ? { exact: namespace } : {}), prefix: `${namespace}:`, shows }
  })
}

/** Whether `source` could be a source of one of `forms`. */
export function matchesSourceForm(forms: readonly SourceForm[], source: string): boolean {
  return forms.some((form) => source === form.exact || (source.startsWith(form.prefix) && source.length > form.prefix.length))
}
