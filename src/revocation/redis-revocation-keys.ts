import type { RevocationKeys } from './redis-revocation-rebuild.js'

export type RevocationKeyNames = ReturnType<typeof revocationKeyNames>

/**
 * Every Redis key and channel of the revocations, under `redis.keyPrefix`: named once, here, for the
 * bus and for what reads them from outside it (the restore guard, src/restore/).
 */
export function revocationKeyNames(prefix: string) {
  return {
    set: `${prefix}revocations`,
    expiry: `${prefix}revocations:expiry`,
    lock: `${prefix}revocations:rebuild`,
    instances: `${prefix}revocations:instances`,
    acks: `${prefix}revocations:acks`,
    channel: `${prefix}revocations:changes`,
    ackChannel: `${prefix}revocations:acks`,
    /** The highest revocation position ever seen in the durable log (src/restore/revocation-high-water.ts). */
    highWater: `${prefix}revocations:high-water`,
  } satisfies RevocationKeys & Record<string, string>
}
