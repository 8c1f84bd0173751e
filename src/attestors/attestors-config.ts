import { z } from 'zod'
import { ATTESTOR_CONFIG_SCHEMAS, namespaceOf } from './catalog.js'
import { namespaceOverlaps } from './namespace.js'

/** One entry of `attestors`: the schema of the kind its `kind` names, each kind's from the catalog. */
export const AttestorConfig = z.discriminatedUnion('kind', ATTESTOR_CONFIG_SCHEMAS)
export type AttestorConfig = z.infer<typeof AttestorConfig>

/** The `attestors` section of the configuration (src/config.ts reads it). */
export const AttestorsConfig = z.array(AttestorConfig).default([])

/** A problem with one entry of `attestors`: `path` is under that key. */
export interface AttestorsProblem {
  path: (string | number)[]
  message: string
}

/**
 * What no entry can see alone: a name or an issuer used twice, and identities or source ids that two
 * attestors would share. Checked with the whole configuration's (src/config/config-schema.ts).
 */
export function attestorsProblems(attestors: AttestorConfig[]): AttestorsProblem[] {
  const problems: AttestorsProblem[] = []
  const seen = new Map<string, string>()
  attestors.forEach((attestor, index) => {
    const keys = [['name', attestor.name], ...('issuer' in attestor ? [['issuer', attestor.issuer]] : [])] as const
    for (const [field, value] of keys) {
      const key = `${field}:${value}`
      if (seen.has(key)) {
        problems.push({ path: [index, field], message: `${field} "${value}" is already used by ${seen.get(key)}` })
      }
      seen.set(key, `attestors.${index}`)
    }
  })
  const namespaces = attestors.map((attestor) => ({ name: attestor.name, namespace: namespaceOf(attestor) }))
  for (const { index, problem } of namespaceOverlaps(namespaces)) problems.push({ path: [index], message: problem })
  return problems
}
