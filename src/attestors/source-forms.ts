import type { AttestorConfig } from '../config.js'
import { namespaceOf } from './namespace.js'

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

/**
 * The source forms of the configured attestors, in the order configured: each begins with its
 * attestor's source namespace (src/attestors/namespace.ts), which no other attestor shares.
 */
export function sourceFormsOf(configs: readonly AttestorConfig[]): SourceForm[] {
  return configs.map((config): SourceForm => {
    const ns = namespaceOf(config).source
    const form = (shows: string[], exact?: string): SourceForm => ({ ...(exact !== undefined ? { exact } : {}), prefix: `${ns}:`, shows })
    switch (config.kind) {
      case 'kubernetes':
        return form([ns, `${ns}:node:<node>`, `${ns}:pod:<uid>`], ns)
      case 'oidc':
        return form([ns], ns)
      case 'aws':
        return form([`${ns}:<account>[:<region>[:<instance>]]`])
      case 'gcp':
        return form([`${ns}:<project>[:<zone>[:<instance>]]`])
      case 'azure':
        return form([`${ns}:<subscription or tenant>[:vm:<vm>|:principal:<object>]`])
      case 'github':
        return form([`${ns}:<owner>[/<repository>]`, `${ns}:repository_id:<id>`, `${ns}:repository_owner_id:<id>`])
    }
  })
}

/** Whether `source` could be a source of one of `forms`. */
export function matchesSourceForm(forms: readonly SourceForm[], source: string): boolean {
  return forms.some((form) => source === form.exact || (source.startsWith(form.prefix) && source.length > form.prefix.length))
}
