import type { AttestorConfig } from '../config.js'

/**
 * What the attestation sources of a configured attestor look like: the ids attestors put in
 * `AttestedIdentity.sources` (see each attestor's `attest`), so a `source` revocation can be checked
 * against what could ever match. `exact` is a whole source id; `prefix` starts every other one.
 */
export interface SourceForm {
  exact?: string
  prefix: string
  /** For people: `k8s:prod:node:<node>`. */
  shows: string[]
}

/** The source forms of the configured attestors, in the order configured. */
export function sourceFormsOf(configs: readonly AttestorConfig[]): SourceForm[] {
  return configs.map((config): SourceForm => {
    switch (config.kind) {
      case 'kubernetes':
        return { exact: `k8s:${config.name}`, prefix: `k8s:${config.name}:`, shows: [`k8s:${config.name}`, `k8s:${config.name}:node:<node>`, `k8s:${config.name}:pod:<uid>`] }
      case 'oidc':
        return { exact: `oidc:${config.name}`, prefix: `oidc:${config.name}:`, shows: [`oidc:${config.name}`] }
      case 'aws':
        return { prefix: 'aws:', shows: ['aws:<account>[:<region>[:<instance>]]'] }
      case 'gcp':
        return { prefix: 'gcp:', shows: ['gcp:<project>[:<zone>[:<instance>]]'] }
      case 'azure':
        return { prefix: 'azure:', shows: ['azure:<subscription or tenant>[:vm:<vm>|:principal:<object>]'] }
      case 'github':
        return { prefix: 'github:', shows: ['github:[<instance>:]<owner>[/<repository>]'] }
    }
  })
}

/** Whether `source` could be a source of one of `forms`. */
export function matchesSourceForm(forms: readonly SourceForm[], source: string): boolean {
  return forms.some((form) => source === form.exact || (source.startsWith(form.prefix) && source.length > form.prefix.length))
}
