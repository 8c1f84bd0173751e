import { isDeepStrictEqual } from 'node:util'
import type { AttestorConfig, Config } from '../config.js'

/**
 * What a reload may change, each key with everything under it: what the running service reads from
 * its runtime settings (src/reload/runtime-settings.ts) or, for the log level, sets on its logger.
 * An allow-list on purpose: a key added to the configuration later cannot change at run time until
 * its users read it from there, and a reload that changes it is refused by name rather than ignored.
 *
 * Fixed, among others: `issuer`, `trustDomain` (in every token and identity already issued),
 * `database`, `redis`, `keys` (connections and key material opened at start), `host`, `port`,
 * `workers`, `http`, `trustProxy`, `limits.maxBodyBytes` (the HTTP server is built with them),
 * `ledger.partitionInterval` and the retention and maintenance intervals (timers and partitions made
 * at start), and `tokens.maxTtlSeconds`: the ledger's live queries, the live-token count of a
 * revocation and ledger retention all assume no token outlives it, so lowering it at run time would
 * hide live tokens issued under the old cap, and raising it would issue tokens that instances still
 * on the old cap cannot see.
 */
export const RELOADABLE_KEYS: readonly string[] = [
  'logLevel',
  'audience',
  'clockSkewSeconds',
  'attestors',
  'limits.maxAttestationBytes',
  'limits.tokenRequestsPerMinute',
  'limits.adminRequestsPerMinute',
  'limits.introspectionRequestsPerMinute',
  'limits.adminAuthFailuresPerMinute',
  'tokens.defaultTtlSeconds',
  'grants.guardrails',
]

/** Keys the schema derives from others (never written in a file): a change shows as the keys it comes from. */
const DERIVED_KEYS: readonly string[] = ['redis.endpoint']

export interface AttestorChanges {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ConfigChanges {
  /** Every key whose value differs, in the order of the configuration; `attestors.<name>` per attestor. */
  changed: string[]
  /** Those of `changed` a reload cannot apply. */
  fixed: string[]
  /** The attestors added, removed and changed, by name. */
  attestors: AttestorChanges
}

/**
 * What differs between the running configuration and a new one, both validated (defaults applied),
 * by key name only: values may be secrets (`admin.token`, a password in `database.url`).
 *
 * @example
 * configChanges(running, { ...running, issuer: 'https://other.example' })
 * // { changed: ['issuer'], fixed: ['issuer'], attestors: { added: [], removed: [], changed: [] } }
 */
export function configChanges(running: Config, next: Config): ConfigChanges {
  const attestors = attestorChanges(running.attestors, next.attestors)
  const changed = differences(running, next, []).flatMap((path) =>
    path === 'attestors'
      ? [...attestors.removed, ...attestors.added, ...attestors.changed].sort().map((name) => `attestors.${name}`)
      : [path],
  )
  return { changed, fixed: changed.filter((path) => !isReloadable(path)), attestors }
}

function isReloadable(path: string): boolean {
  return RELOADABLE_KEYS.some((key) => path === key || path.startsWith(`${key}.`))
}

/** The paths of the leaves that differ; arrays are compared whole (attestors are compared by name above). */
function differences(a: unknown, b: unknown, path: string[]): string[] {
  if (DERIVED_KEYS.includes(path.join('.'))) return []
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    return keys.flatMap((key) => differences(a[key], b[key], [...path, key]))
  }
  return isDeepStrictEqual(a, b) ? [] : [path.join('.')]
}

/** By name (unique in a valid configuration): a different order alone changes nothing. */
function attestorChanges(running: readonly AttestorConfig[], next: readonly AttestorConfig[]): AttestorChanges {
  const before = new Map(running.map((attestor) => [attestor.name, attestor]))
  const after = new Map(next.map((attestor) => [attestor.name, attestor]))
  return {
    added: [...after.keys()].filter((name) => !before.has(name)),
    removed: [...before.keys()].filter((name) => !after.has(name)),
    changed: [...after]
      .filter(([name, attestor]) => before.has(name) && !isDeepStrictEqual(before.get(name), attestor))
      .map(([name]) => name),
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
