import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { GoneError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { RedisClient } from '../lib/redis-connection.js'
import type { RevocationKeys } from './redis-revocation-keys.js'
import type { RevocationLog } from './revocation-log.js'
import { SCRIPTS, SEQ_FIELD, type RebuildChange } from './redis-revocation-scripts.js'
import { inForce, revocationToJson, type Revocation } from './revocation.js'

const PAGE = 500

/**
 * Brings the revocation set in Redis up to the durable log in Postgres. One instance does it, under a
 * lock; the others wait until the set vouches for the log. With a marker (a hash restored from an
 * older snapshot), the changes after it are applied in order, lifts included; without one, everything
 * in force is written. The marker is moved last, so whoever sees it sees every revocation it vouches for.
 */
export async function rebuildRevocationSet(
  client: RedisClient,
  keys: RevocationKeys,
  log: RevocationLog,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  const token = randomUUID()
  if ((await client.set(keys.lock, token, 'PX', 15_000, 'NX')) !== 'OK') return waitForRebuild(client, keys, log)
  try {
    const durable = await log.lastSeq()
    const marker = await client.hget(keys.set, SEQ_FIELD)
    const from = marker !== null && /^\d+$/.test(marker) ? BigInt(marker) : undefined
    const { changes, stale } =
      from === undefined
        ? { changes: await log.listInForce(new Date(clock.now())), stale: [] }
        : await changesSince(client, keys, log, from, clock)
    // Marked at the durable position: a newer publication of the same id, raced in meanwhile, wins.
    const gone = stale.map((id): RebuildChange => ({ id, json: '', seq: String(durable), exp: '', gone: '1' }))
    for (let i = 0; i < gone.length; i += PAGE) {
      await SCRIPTS.rebuild.run(client, [keys.set, keys.expiry], ['', JSON.stringify(gone.slice(i, i + PAGE))])
    }
    let highest = durable
    for (let i = 0; i < changes.length; i += PAGE) {
      const chunk = changes.slice(i, i + PAGE)
      for (const revocation of chunk) if (revocation.seq > highest) highest = revocation.seq
      await SCRIPTS.rebuild.run(client, [keys.set, keys.expiry], ['', JSON.stringify(chunk.map((r) => toChange(r, clock.now())))])
    }
    await SCRIPTS.rebuild.run(client, [keys.set, keys.expiry], [String(highest), '[]'])
    logger.warn(
      { revocations: changes.length, removed: stale.length, from: marker, to: String(highest) },
      from === undefined
        ? 'Redis had no vouched-for revocation set: rebuilt it from Postgres'
        : 'the revocation set in Redis was behind Postgres: caught it up',
    )
  } finally {
    if ((await client.get(keys.lock).catch(() => null)) === token) await client.del(keys.lock).catch(() => {})
  }
}

/**
 * The changes after the marker. When retention has pruned past it (the snapshot is older than what the
 * log keeps), everything in force instead, and as `stale` every revocation the set holds that is no
 * longer in force: a lift pruned since would otherwise stand in Redis for ever.
 */
async function changesSince(
  client: RedisClient,
  keys: RevocationKeys,
  log: RevocationLog,
  from: bigint,
  clock: Clock,
): Promise<{ changes: Revocation[]; stale: string[] }> {
  try {
    return { changes: await changesAfter(log, from, clock), stale: [] }
  } catch (error) {
    if (!(error instanceof GoneError)) throw error
  }
  const changes = await log.listInForce(new Date(clock.now()))
  const kept = new Set(changes.map((revocation) => revocation.id))
  const stale = (await client.hkeys(keys.set)).filter((id) => !id.startsWith('~') && !kept.has(id))
  return { changes, stale }
}

async function changesAfter(log: RevocationLog, from: bigint, clock: Clock): Promise<Revocation[]> {
  const changes: Revocation[] = []
  // Every page resumes (`since`, not a listing's cursor): pruning past it meanwhile is a GoneError too.
  let since: string | undefined = String(from)
  while (since !== undefined) {
    const page = await log.list({ since, limit: PAGE }, new Date(clock.now()))
    changes.push(...page.items)
    since = page.nextCursor
  }
  return changes
}

async function waitForRebuild(client: RedisClient, keys: RevocationKeys, log: RevocationLog): Promise<void> {
  const durable = await log.lastSeq()
  for (let waited = 0; waited < 15_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const marker = await client.hget(keys.set, SEQ_FIELD)
    if (marker !== null && /^\d+$/.test(marker) && BigInt(marker) >= BigInt(durable)) return
  }
  throw new Error('another instance is rebuilding the revocations in Redis and has not finished')
}

function toChange(revocation: Revocation, now: number): RebuildChange {
  return {
    id: revocation.id,
    json: JSON.stringify(revocationToJson(revocation)),
    seq: String(revocation.seq),
    exp: revocation.expiresAt ? String(revocation.expiresAt.getTime()) : '',
    gone: inForce(revocation, now) ? '0' : '1',
  }
}
