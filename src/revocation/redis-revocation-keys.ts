/**
 * The Redis keys and channels of the revocation set, all under `redis.keyPrefix`. Every script that
 * touches them reads or writes several at once (the set and its expiry index, the instances and their
 * acknowledgements, and the channel it publishes on, which the scripts take as a key), and a Redis
 * Cluster runs a script only when all its keys are in one hash slot: so every name carries the hash
 * tag `{revocations}`, and only what is inside the braces decides the slot. (A prefix that has braces
 * of its own decides the slot instead; every key is then in that one slot, which is as correct.)
 *
 * Releases before the tag used `<prefix>revocations`, `<prefix>revocations:expiry` and so on: an
 * upgraded instance finds no set under the new names and rebuilds it from Postgres, the durable log;
 * README "Highly available stores" says what happens while releases are mixed.
 */
export interface RevocationKeys {
  /** Hash of the revocations in force (id -> JSON), with its `~seq` and `~version` markers. */
  set: string
  /** Sorted set of the revocations that expire, by expiry (ms). */
  expiry: string
  /** The rebuild's lock: one instance rebuilds, the others wait. */
  lock: string
}

export interface RevocationBusKeys extends RevocationKeys {
  /** Sorted set of the live instances, by last heartbeat (Redis time, ms). */
  instances: string
  /** Hash of the version each instance has applied. */
  acks: string
  /** Channel of the changes: `{"v": version, "r": revocation}`. */
  channel: string
  /** Channel an instance announces each acknowledgement on (its id). */
  ackChannel: string
  /** The highest revocation position ever seen in the durable log (src/restore/revocation-high-water.ts). */
  highWater: string
}

export function revocationKeys(prefix: string): RevocationBusKeys {
  const tagged = `${prefix}{revocations}`
  return {
    set: tagged,
    expiry: `${tagged}:expiry`,
    lock: `${tagged}:rebuild`,
    instances: `${tagged}:instances`,
    acks: `${tagged}:acks`,
    channel: `${tagged}:changes`,
    ackChannel: `${tagged}:acks`,
    highWater: `${tagged}:high-water`,
  }
}
