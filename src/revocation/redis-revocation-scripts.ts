import { createHash } from 'node:crypto'
import type { RedisClient } from '../lib/redis-connection.js'

/**
 * The Lua scripts that keep the revocation set in Redis able to vouch for itself. The hash holds, beside
 * one field per revocation in force (id -> JSON), two fields of its own:
 *
 * - `~seq`: the durable position (Postgres `revocations.seq`) up to which the hash is complete. It lives
 *   inside the hash, so whatever loses the hash (eviction, DEL, a failover) loses the marker with it; a
 *   hash restored from an older snapshot carries an older `~seq`, which the durable log shows is behind.
 * - `~version`: incremented by every publication, in publication order: what instances acknowledge.
 *
 * Positions are compared as decimal strings (`gt`), never as Lua numbers, so they keep every digit.
 */
export const SEQ_FIELD = '~seq'
export const VERSION_FIELD = '~version'

const GT = `local function gt(a, b) if #a ~= #b then return #a > #b end return a > b end`

/** KEYS: hash, expiry zset, channel. ARGV: id, json, seq, expiresAtMs or '', lifted '1'/'0'. Returns the version. */
const PUBLISH = `${GT}
local marker = redis.call('HGET', KEYS[1], '${SEQ_FIELD}')
if not marker then return redis.error_reply('NOTREADY the revocation set in Redis is not vouched for') end
local v = redis.call('HINCRBY', KEYS[1], '${VERSION_FIELD}', 1)
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not (current and gt(cjson.decode(current).cursor, ARGV[3])) then
  if ARGV[5] == '1' then
    redis.call('HDEL', KEYS[1], ARGV[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
  else
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
  end
end
if gt(ARGV[3], marker) then redis.call('HSET', KEYS[1], '${SEQ_FIELD}', ARGV[3]) end
redis.call('PUBLISH', KEYS[3], '{"v":"' .. v .. '","r":' .. ARGV[2] .. '}')
return tostring(v)`

/**
 * KEYS: hash, expiry zset. ARGV: the durable position to vouch for ('' for none yet), JSON array of
 * {id, json, seq, exp ('' for none), gone ('1' when lifted or expired)}. A change already superseded
 * in the hash (a newer publication raced the rebuild) is left alone.
 */
const REBUILD = `${GT}
for _, c in ipairs(cjson.decode(ARGV[2])) do
  local current = redis.call('HGET', KEYS[1], c.id)
  if not (current and gt(cjson.decode(current).cursor, c.seq)) then
    if c.gone == '1' then
      redis.call('HDEL', KEYS[1], c.id)
      redis.call('ZREM', KEYS[2], c.id)
    else
      redis.call('HSET', KEYS[1], c.id, c.json)
      if c.exp ~= '' then redis.call('ZADD', KEYS[2], c.exp, c.id) end
    end
  end
end
if ARGV[1] ~= '' then
  if not redis.call('HGET', KEYS[1], '${VERSION_FIELD}') then
    -- A fresh counter starts at Redis's clock in ms, so it stays above every version handed out before.
    local t = redis.call('TIME')
    redis.call('HSET', KEYS[1], '${VERSION_FIELD}', t[1] * 1000 + math.floor(t[2] / 1000))
  end
  local marker = redis.call('HGET', KEYS[1], '${SEQ_FIELD}')
  if (not marker) or gt(ARGV[1], marker) then redis.call('HSET', KEYS[1], '${SEQ_FIELD}', ARGV[1]) end
end
return 1`

/** KEYS: hash, expiry zset. ARGV: now in ms. Drops the revocations that have expired. */
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
if #ids > 0 then
  redis.call('HDEL', KEYS[1], unpack(ids))
  redis.call('ZREM', KEYS[2], unpack(ids))
end
return #ids`

/**
 * KEYS: instances zset (id -> last heartbeat, Redis time in ms), acks hash, ack channel. ARGV: instance
 * id, version applied, forget-after ms. A heartbeat and an acknowledgement in one.
 */
const ACK = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
if #dead > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead))
  redis.call('HDEL', KEYS[2], unpack(dead))
end
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`

/** KEYS: instances zset, acks hash. ARGV: version, heartbeat window ms. The live instances that have not applied it. */
const BEHIND = `${GT}
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local behind = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')) do
  local acked = redis.call('HGET', KEYS[2], id)
  if (not acked) or gt(ARGV[1], acked) then table.insert(behind, id) end
end
return behind`

class LuaScript {
  private readonly sha: string

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error
      return client.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}

export const SCRIPTS = {
  publish: new LuaScript(PUBLISH),
  rebuild: new LuaScript(REBUILD),
  sweep: new LuaScript(SWEEP),
  ack: new LuaScript(ACK),
  behind: new LuaScript(BEHIND),
}

/** A change for the rebuild script. */
export interface RebuildChange {
  id: string
  json: string
  seq: string
  exp: string
  gone: '0' | '1'
}
