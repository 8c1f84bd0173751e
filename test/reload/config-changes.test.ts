import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { configChanges } from '../../src/reload/config-changes.js'

const prod = { kind: 'kubernetes', name: 'prod', issuer: 'https://prod.example', jwksUri: 'https://prod.example/jwks' }
const staging = { kind: 'kubernetes', name: 'staging', issuer: 'https://staging.example', jwksUri: 'https://staging.example/jwks' }
const BASE = {
  issuer: 'https://sts.example',
  trustDomain: 'example.org',
  audience: 'sts',
  database: { url: 'postgres://db.example/sts' },
  redis: { url: 'redis://redis.example' },
  attestors: [prod, staging],
  // A shared database needs the replicas' key-encryption key (src/keys/keys-config.ts).
  keys: { encryptionKey: Buffer.alloc(32, 5).toString('base64') },
  // And their source hash key (src/tokens/source-hash.ts).
  tokens: { sourceHashKey: Buffer.alloc(32, 6).toString('base64') },
}
const running = parseConfig(BASE)
const NOTHING = { added: [], removed: [], changed: [] }

t.test('what may change at run time', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['logLevel', { logLevel: 'debug' }],
    ['audience', { audience: 'other' }],
    ['clockSkewSeconds', { clockSkewSeconds: 5 }],
    ['limits.maxAttestationBytes', { limits: { maxAttestationBytes: 1024 } }],
    ['limits.tokenRequestsPerMinute', { limits: { tokenRequestsPerMinute: 1 } }],
    ['limits.adminRequestsPerMinute', { limits: { adminRequestsPerMinute: 1 } }],
    ['limits.introspectionRequestsPerMinute', { limits: { introspectionRequestsPerMinute: 1 } }],
    ['limits.adminAuthFailuresPerMinute', { limits: { adminAuthFailuresPerMinute: 1 } }],
    ['tokens.defaultTtlSeconds', { tokens: { ...BASE.tokens, defaultTtlSeconds: 60 } }],
  ]
  for (const [key, change] of cases) {
    t.same(configChanges(running, parseConfig({ ...BASE, ...change })), { changed: [key], fixed: [], attestors: NOTHING }, key)
  }
})

t.test('what cannot, each named', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['issuer', { issuer: 'https://other.example' }],
    ['trustDomain', { trustDomain: 'other.example' }],
    ['host', { host: '127.0.0.1' }],
    ['port', { port: 9090 }],
    ['trustProxy', { trustProxy: ['10.0.0.0/8'] }],
    ['database.url', { database: { url: 'postgres://other.example/sts' } }],
    ['database.poolSize', { database: { url: BASE.database.url, poolSize: 5 } }],
    ['redis.url', { redis: { url: 'redis://other.example' } }],
    ['redis.keyPrefix', { redis: { url: BASE.redis.url, keyPrefix: 'x:' } }],
    ['admin.token', { admin: { token: 'a-new-bootstrap-token-0123456789' } }],
    ['keys.dir', { keys: { ...BASE.keys, dir: '/keys' } }],
    ['keys.rotateEveryDays', { keys: { ...BASE.keys, rotateEveryDays: 7 } }],
    ['tokens.maxTtlSeconds', { tokens: { ...BASE.tokens, maxTtlSeconds: 7200 } }],
    // Every token minted and every revocation announced carries hashes under it.
    ['tokens.sourceHashKey', { tokens: { sourceHashKey: Buffer.alloc(32, 7).toString('base64') } }],
    ['limits.maxBodyBytes', { limits: { maxBodyBytes: 1024 } }],
    ['ledger.partitionInterval', { ledger: { partitionInterval: 'hour', retentionDays: 7 } }],
    ['grants.catchUpIntervalMs', { grants: { catchUpIntervalMs: 500 } }],
    ['http.requestTimeoutMs', { http: { requestTimeoutMs: 20_000 } }],
    ['shutdown.drainSeconds', { shutdown: { drainSeconds: 5 } }],
    ['workers', { workers: 2 }],
  ]
  for (const [key, change] of cases) {
    const changes = configChanges(running, parseConfig({ ...BASE, ...change }))
    // Changes a key brings along (the retention days of an hourly ledger) may be named too.
    t.same(changes.fixed, changes.changed, key)
    t.ok(changes.fixed.includes(key), key)
  }
  t.same(
    configChanges(running, parseConfig({ ...BASE, redis: { url: 'redis://other.example' } })).changed,
    ['redis.url'],
    'as written in the file, not as the schema derives it (redis.endpoint)',
  )
  t.same(
    configChanges(running, parseConfig({ ...BASE, issuer: 'https://other.example', logLevel: 'warn', attestors: [prod] })),
    {
      changed: ['issuer', 'logLevel', 'attestors.staging'],
      fixed: ['issuer'],
      attestors: { added: [], removed: ['staging'], changed: [] },
    },
    'named among the changes that could be made',
  )
})

t.test('attestors are compared by name', async (t) => {
  t.same(
    configChanges(running, parseConfig({ ...BASE, attestors: [staging, prod] })),
    { changed: [], fixed: [], attestors: NOTHING },
    'an order',
  )
  const other = { kind: 'kubernetes', name: 'other', issuer: 'https://other.example', jwksUri: 'https://other.example/jwks' }
  t.same(configChanges(running, parseConfig({ ...BASE, attestors: [{ ...prod, audience: 'prod-sts' }, other] })), {
    changed: ['attestors.other', 'attestors.prod', 'attestors.staging'],
    fixed: [],
    attestors: { added: ['other'], removed: ['staging'], changed: ['prod'] },
  })
  t.same(configChanges(running, parseConfig({ ...BASE, attestors: [{ ...prod, jwksUri: 'https://prod.example/keys' }, staging] })), {
    changed: ['attestors.prod'],
    fixed: [],
    attestors: { added: [], removed: [], changed: ['prod'] },
  })
  t.same(configChanges(running, running), { changed: [], fixed: [], attestors: NOTHING }, 'nothing')
})
