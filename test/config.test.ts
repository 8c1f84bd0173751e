import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, configSourceFromProcess, loadConfig, parseConfig } from '../src/config.js'

const MINIMAL = { issuer: 'https://sts.example.org/', trustDomain: 'example.org', audience: 'sts.example.org' }
/** A key-encryption key, as `openssl rand -base64 32` prints one. */
const KEK = Buffer.alloc(32, 3).toString('base64')
/** A source hash key, the same form. */
const HASH_KEY = Buffer.alloc(32, 4).toString('base64')

function writeTemp(t: Test, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

t.test('a minimal configuration gets the documented defaults', async (t) => {
  const config = parseConfig(MINIMAL)
  t.equal(config.issuer, 'https://sts.example.org', 'a trailing slash is dropped so URLs built from it are exact')
  t.match(config, {
    port: 8080,
    host: '0.0.0.0',
    tokens: { defaultTtlSeconds: 300, maxTtlSeconds: 3600 },
    grants: { defaultLifetimeDays: 90, catchUpIntervalMs: 1000, maxStalenessMs: 5000 },
    registrations: { tidyAfterDays: 30, tidyIntervalSeconds: 3600, tidyBatchSize: 500 },
    audit: { retentionDays: 400 },
    revocations: { retentionDays: 7, countBudgetMs: 150 },
    retention: { intervalSeconds: 3600 },
    ledger: {
      retentionDays: 90,
      partitionInterval: 'day',
      maintenanceIntervalSeconds: 600,
      anchor: { intervalSeconds: 60, webhookTimeoutMs: 5000 },
      export: { webhookTimeoutMs: 5000, queueSize: 10_000 },
    },
    inventory: { flushIntervalSeconds: 5, maxPendingRows: 100_000 },
    keys: {
      dir: 'keys',
      algorithm: 'ES256',
      rotateEveryDays: 30,
      catchUpIntervalMs: 5000,
      maxStalenessMs: 30_000,
      maintenanceIntervalSeconds: 30,
    },
    clockSkewSeconds: 60,
    attestors: [],
  })
})

t.test('grants: the catch-up must come within the staleness bound; the old cacheTtlMs is still accepted', async (t) => {
  const error = t.throws(() => parseConfig({ ...MINIMAL, grants: { catchUpIntervalMs: 5000, maxStalenessMs: 5000 } })) as ConfigError
  t.same(error.problems, [
    'grants.catchUpIntervalMs: catchUpIntervalMs must be shorter than maxStalenessMs, or every pause between catch-ups fails exchanges closed',
  ])
  // One configuration file serves both releases during a rolling upgrade; the service warns that it is ignored.
  t.match(parseConfig({ ...MINIMAL, grants: { cacheTtlMs: 1000 } }).grants, {
    cacheTtlMs: 1000,
    catchUpIntervalMs: 1000,
    maxStalenessMs: 5000,
  })
})

t.test('every problem is reported at once, each naming its key', async (t) => {
  const error = t.throws(() =>
    parseConfig({
      issuer: 'not a url',
      trustDomain: 'Example.ORG',
      audience: 'sts',
      tokens: { defaultTtlSeconds: 7200, maxTtlSeconds: 3600 },
      attestors: [
        { kind: 'kubernetes', name: 'prod', issuer: 'https://k8s', jwksUri: 'https://k8s/jwks', jwksFile: 'x.json' },
        { kind: 'kubernetes', name: 'prod', issuer: 'https://k8s-2', jwksFile: 'y.json' },
        { kind: 'vault', name: 'v' },
      ],
      surprise: 1,
    }),
  ) as ConfigError
  t.type(error, ConfigError)
  const text = error.problems.join('\n')
  for (const expected of [
    /^issuer: /m,
    /^trustDomain: must be a lowercase DNS name/m,
    /^tokens: defaultTtlSeconds cannot exceed maxTtlSeconds/m,
    /^attestors\.0: give exactly one of jwks, jwksFile or jwksUri/m,
    /^attestors\.2\.kind: /m,
    /surprise/,
  ]) {
    t.match(text, expected)
  }
  t.match(error.message, /^invalid configuration:\n {2}- /)
})

t.test('metrics: on by default on the main port; their own port must be another', async (t) => {
  t.same(parseConfig(MINIMAL).metrics, { enabled: true })
  t.same(parseConfig({ ...MINIMAL, metrics: { enabled: false, port: 9464 } }).metrics, { enabled: false, port: 9464 })
  const error = t.throws(() => parseConfig({ ...MINIMAL, metrics: { port: 9464, path: '/m' } })) as ConfigError
  t.same(error.problems, ['metrics: Unrecognized key: "path"'])
  const same = t.throws(() => parseConfig({ ...MINIMAL, port: 9000, metrics: { port: 9000 } })) as ConfigError
  t.same(same.problems, ['metrics.port: must differ from port (9000): leave it out to serve /metrics on the main port'])
})

t.test('console: on by default; console.enabled: false turns it off', async (t) => {
  t.same(parseConfig(MINIMAL).console, { enabled: true })
  t.same(parseConfig({ ...MINIMAL, console: { enabled: false } }).console, { enabled: false })
  const error = t.throws(() => parseConfig({ ...MINIMAL, console: { enabled: 'no', path: '/ui' } })) as ConfigError
  t.same(error.problems, ['console.enabled: Invalid input: expected boolean, received string', 'console: Unrecognized key: "path"'])
})

t.test('registrations: the tidy can be turned off, and bad values are named', async (t) => {
  t.same(parseConfig({ ...MINIMAL, registrations: { tidyAfterDays: 0 } }).registrations, {
    tidyAfterDays: 0,
    tidyIntervalSeconds: 3600,
    tidyBatchSize: 500,
  })
  const error = t.throws(() =>
    parseConfig({ ...MINIMAL, registrations: { tidyAfterDays: -1, tidyIntervalSeconds: 0, tidyBatchSize: 0, tidyAfter: 3 } }),
  ) as ConfigError
  t.same(
    error.problems.map((p) => p.split(':')[0]),
    ['registrations.tidyAfterDays', 'registrations.tidyIntervalSeconds', 'registrations.tidyBatchSize', 'registrations'],
  )
})

t.test('retention: 0 keeps everything, and bad values are named', async (t) => {
  const config = parseConfig({ ...MINIMAL, audit: { retentionDays: 0 }, revocations: { retentionDays: 0 } })
  t.same(
    [config.audit, config.revocations, config.retention],
    [{ retentionDays: 0 }, { retentionDays: 0, countBudgetMs: 150 }, { intervalSeconds: 3600 }],
  )
  const error = t.throws(() =>
    parseConfig({
      ...MINIMAL,
      audit: { retentionDays: -1 },
      revocations: { retentionDays: 1.5 },
      retention: { intervalSeconds: 0, every: 3 },
    }),
  ) as ConfigError
  t.same(
    error.problems.map((p) => p.split(':')[0]),
    ['audit.retentionDays', 'revocations.retentionDays', 'retention.intervalSeconds', 'retention'],
  )
})

t.test('inventory: the interval and the cap of the roll-ups written behind the ledger, bad values named', async (t) => {
  t.same(parseConfig({ ...MINIMAL, inventory: { flushIntervalSeconds: 30 } }).inventory, {
    flushIntervalSeconds: 30,
    maxPendingRows: 100_000,
  })
  const error = t.throws(() =>
    parseConfig({ ...MINIMAL, inventory: { flushIntervalSeconds: 0, maxPendingRows: 10, every: 3 } }),
  ) as ConfigError
  t.same(
    error.problems.map((p) => p.split(':')[0]),
    ['inventory.flushIntervalSeconds', 'inventory.maxPendingRows', 'inventory'],
  )
})

t.test('tokens.maxTtlSeconds is at most a day: ledger retention relies on it', async (t) => {
  t.same(parseConfig({ ...MINIMAL, tokens: { defaultTtlSeconds: 300, maxTtlSeconds: 86_400 } }).tokens, {
    defaultTtlSeconds: 300,
    maxTtlSeconds: 86_400,
  })
  const error = t.throws(() => parseConfig({ ...MINIMAL, tokens: { maxTtlSeconds: 86_401 } })) as ConfigError
  t.same(error.problems, ['tokens.maxTtlSeconds: Too big: expected number to be <=86400'])
})

t.test('ledger: retention 0 keeps everything, hourly partitions, and bad values are named', async (t) => {
  t.same(parseConfig({ ...MINIMAL, ledger: { retentionDays: 0, partitionInterval: 'day' } }).ledger, {
    retentionDays: 0,
    partitionInterval: 'day',
    maintenanceIntervalSeconds: 600,
    anchor: { intervalSeconds: 60, webhookTimeoutMs: 5000 },
    export: { webhookTimeoutMs: 5000, queueSize: 10_000 },
  })
  t.same(parseConfig({ ...MINIMAL, ledger: { retentionDays: 16, partitionInterval: 'hour' } }).ledger, {
    retentionDays: 16,
    partitionInterval: 'hour',
    maintenanceIntervalSeconds: 600,
    anchor: { intervalSeconds: 60, webhookTimeoutMs: 5000 },
    export: { webhookTimeoutMs: 5000, queueSize: 10_000 },
  })
  const error = t.throws(() =>
    parseConfig({ ...MINIMAL, ledger: { retentionDays: -1, partitionInterval: 'week', maintenanceIntervalSeconds: 1, retention: 3 } }),
  ) as ConfigError
  t.same(
    error.problems.map((p) => p.split(':')[0]),
    ['ledger.retentionDays', 'ledger.partitionInterval', 'ledger.maintenanceIntervalSeconds', 'ledger'],
  )
})

t.test('ledger: the anchor and the export take http(s) webhooks, and say what is wrong', async (t) => {
  const ledger = parseConfig({
    ...MINIMAL,
    ledger: {
      anchor: { intervalSeconds: 30, webhookUrl: 'https://anchor.example/heads' },
      export: { file: '/var/log/sts/ledger.jsonl', webhookUrl: 'http://siem.example/in', queueSize: 50 },
    },
  }).ledger
  t.same(
    { anchor: ledger.anchor, export: ledger.export },
    {
      anchor: { intervalSeconds: 30, webhookUrl: 'https://anchor.example/heads', webhookTimeoutMs: 5000 },
      export: { file: '/var/log/sts/ledger.jsonl', webhookUrl: 'http://siem.example/in', webhookTimeoutMs: 5000, queueSize: 50 },
    },
  )
  const error = t.throws(() =>
    parseConfig({ ...MINIMAL, ledger: { anchor: { intervalSeconds: 0, webhookUrl: 'ftp://x.example/' }, export: { queueSize: 0 } } }),
  ) as ConfigError
  t.same(
    error.problems.map((p) => p.split(':')[0]),
    ['ledger.anchor.intervalSeconds', 'ledger.anchor.webhookUrl', 'ledger.export.queueSize'],
  )
})

t.test('ledger: hourly partitions are refused where they would keep more than 400 of them', async (t) => {
  for (const retentionDays of [17, 90, 0]) {
    const error = t.throws(() => parseConfig({ ...MINIMAL, ledger: { retentionDays, partitionInterval: 'hour' } })) as ConfigError
    const kept = retentionDays === 0 ? 'every hour forever' : `${retentionDays * 24} partitions`
    t.same(error.problems, [
      `ledger.retentionDays: hourly partitions keep ${kept}, more than 400: a search without a time bound would lock them all; ` +
        'with partitionInterval hour, retentionDays must be 1 to 16',
    ])
  }
  // Daily partitions for years are the operator's choice (warned at start: src/ledger/partition-bound.ts).
  t.equal(parseConfig({ ...MINIMAL, ledger: { retentionDays: 3650 } }).ledger.retentionDays, 3650)
})

t.test('two attestors may not share a name or an issuer', async (t) => {
  const attestor = { kind: 'kubernetes', name: 'prod', issuer: 'https://k8s', jwksFile: 'x.json' }
  const error = t.throws(() => parseConfig({ ...MINIMAL, attestors: [attestor, { ...attestor, name: 'other' }] })) as ConfigError
  t.same(error.problems, ['attestors.1.issuer: issuer "https://k8s" is already used by attestors.0'])
})

t.test('YAML and JSON files, with the environment on top', async (t) => {
  const yamlFile = writeTemp(t, 'sts.yaml', 'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\nport: 9000\n')
  const loaded = loadConfig({
    file: yamlFile,
    env: {
      PORT: '9100',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://db/sts',
      REDIS_URL: 'redis://cache:6379',
      STS_ISSUER: 'https://sts.prod.example.org',
      STS_ADMIN_TOKEN: 'a'.repeat(32),
      STS_KEY_ENCRYPTION_KEY: KEK,
      STS_SOURCE_HASH_KEY: HASH_KEY,
      LOG_LEVEL: 'warn',
    },
  })
  t.match(loaded.config, {
    port: 9100,
    host: '127.0.0.1',
    issuer: 'https://sts.prod.example.org',
    logLevel: 'warn',
    database: { url: 'postgres://db/sts' },
    redis: { url: 'redis://cache:6379' },
    admin: { token: 'a'.repeat(32) },
    keys: { encryptionKey: KEK },
    tokens: { sourceHashKey: HASH_KEY },
  })
  t.equal(loaded.usedDevelopmentDefaults, false)

  const jsonFile = writeTemp(t, 'sts.json', JSON.stringify(MINIMAL))
  t.equal(loadConfig({ file: jsonFile, env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config.audience, 'sts.example.org')
})

t.test('files that cannot be used say why', async (t) => {
  const problemsOf = (load: () => unknown) => (t.throws(load) as ConfigError).problems
  t.match(
    problemsOf(() => loadConfig({ file: '/nonexistent/sts.yaml', env: {} })),
    [/^cannot read configuration file \/nonexistent\/sts.yaml/],
  )
  const badYaml = writeTemp(t, 'bad.yaml', 'issuer: https://a.example\ndatabase:\n  url: postgres://u:hunter2pass@db/sts: x: y\n')
  t.same(
    problemsOf(() => loadConfig({ file: badYaml, env: {} })),
    [`configuration file ${badYaml} is not valid YAML at line 3, column 8: Nested mappings are not allowed in compact mappings`],
  )
  // The parsers quote the offending line in their own messages; ours says where, never what, since it
  // reaches logs, the audit log and the reload endpoint's answer.
  const unclosed = writeTemp(t, 'unclosed.json', '{\n  "admin": { "token": "s3cretvalue }\n}')
  const unquoted = writeTemp(t, 'unquoted.json', '{\n  "admin": { "token": s3cretvalue }\n}')
  t.same(
    problemsOf(() => loadConfig({ file: unclosed, env: {} })),
    [`configuration file ${unclosed} is not valid JSON at line 3, column 2: Missing closing "quote`],
  )
  // Valid YAML, so nothing locates it: said without a place rather than with the line.
  t.same(
    problemsOf(() => loadConfig({ file: unquoted, env: {} })),
    [`configuration file ${unquoted} is not valid JSON`],
  )
  t.match(
    problemsOf(() => loadConfig({ file: writeTemp(t, 'list.yaml', '- a\n- b\n'), env: {} })),
    [/must hold an object at its top level/],
  )
  const short = writeTemp(t, 'short.yaml', 'issuer: https://a.example\ntrustDomain: a.example\naudience: a\n')
  t.same(
    problemsOf(() => loadConfig({ file: short, env: { STS_ADMIN_TOKEN: 'short' } })),
    ['admin.token: the admin token must be at least 24 characters'],
  )
})

t.test('without a file the development defaults run, and say so', async (t) => {
  const loaded = loadConfig({ env: {} })
  t.equal(loaded.usedDevelopmentDefaults, true)
  t.equal(loaded.config.issuer, 'http://localhost:8080')
})

t.test('without a file the issuer is where the service listens, PORT and HOST included', async (t) => {
  const issuerFor = (env: Record<string, string>) => loadConfig({ env }).config.issuer
  t.equal(issuerFor({ PORT: '9100' }), 'http://localhost:9100')
  t.equal(issuerFor({ PORT: '9100', HOST: '0.0.0.0' }), 'http://localhost:9100')
  t.equal(issuerFor({ PORT: '9100', HOST: '::' }), 'http://localhost:9100')
  t.equal(issuerFor({ PORT: '9100', HOST: '127.0.0.1' }), 'http://127.0.0.1:9100')
  t.equal(issuerFor({ PORT: '9100', HOST: '::1' }), 'http://[::1]:9100')
  t.equal(issuerFor({ PORT: '9100', STS_ISSUER: 'https://sts.example.org' }), 'https://sts.example.org', 'STS_ISSUER wins')
  t.same(
    (t.throws(() => loadConfig({ env: { PORT: 'eighty' } })) as ConfigError).problems,
    ['port: Invalid input: expected number, received NaN'],
    'a port that is not one is the only problem reported',
  )
  const file = writeTemp(t, 'sts.yaml', 'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\n')
  t.equal(
    loadConfig({ file, env: { PORT: '9100', STS_KEY_ENCRYPTION_KEY: KEK } }).config.issuer,
    'https://sts.example.org',
    "a file's issuer is kept",
  )
})

t.test('the file comes from --config or STS_CONFIG', async (t) => {
  t.equal(configSourceFromProcess(['--config', 'a.yaml'], { STS_CONFIG: 'b.yaml' }).file, 'a.yaml')
  t.equal(configSourceFromProcess(['--config=c.yaml'], {}).file, 'c.yaml')
  t.equal(configSourceFromProcess([], { STS_CONFIG: 'b.yaml' }).file, 'b.yaml')
  t.equal(configSourceFromProcess([], {}).file, undefined)
})

t.test('the shipped compose configuration, and every attestor example in it, is valid', async (t) => {
  const file = new URL('../deploy/compose-config.yaml', import.meta.url)
  const shipped = loadConfig({ file: file.pathname, env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config
  t.same(
    shipped.attestors.map((a) => a.kind),
    ['kubernetes'],
  )
  // Uncomment the examples ("  # - kind: ..." and their "  #   key: ..." lines), keep nested comments.
  const text = readFileSync(file, 'utf8')
  const at = text.indexOf('  # Other kinds')
  const examples = text
    .slice(at)
    .split('\n')
    .map((line) => (/^ {2}# (- | {2}[a-z])/.test(line) ? `  ${line.slice(4)}` : line))
    .join('\n')
  const all = loadConfig({ file: writeTemp(t, 'all.yaml', text.slice(0, at) + examples), env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config
  t.same(
    all.attestors.map((a) => a.kind),
    ['kubernetes', 'aws', 'gcp', 'azure', 'github', 'oidc'],
  )
})

t.test(
  'the key-encryption key: from the environment or a file, checked, and required wherever the keys are shared or deployed',
  async (t) => {
    const file = writeTemp(t, 'sts.yaml', 'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\n')
    const problemsOf = (load: () => unknown) => (t.throws(load) as ConfigError).problems
    t.equal(
      loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: `${KEK}\n` } }).config.keys.encryptionKey,
      KEK,
      'from the environment, trimmed',
    )
    const kekFile = writeTemp(t, 'kek', `${KEK}\n`)
    const fromFile = loadConfig({
      file: writeTemp(t, 'f.json', JSON.stringify({ ...MINIMAL, keys: { encryptionKeyFile: kekFile } })),
      env: {},
    })
    t.equal(fromFile.config.keys.encryptionKey, KEK, 'from keys.encryptionKeyFile')

    const required =
      'keys.encryptionKey: the signing keys are encrypted with a key-encryption key, and none is configured: ' +
      'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`, ' +
      'and keep it as safe as the database backups (the development defaults generate one in the data directory instead)'
    t.same(
      problemsOf(() => loadConfig({ file, env: {} })),
      [required],
      'a configuration file without one is refused',
    )
    t.same(
      problemsOf(() => loadConfig({ env: { DATABASE_URL: 'postgres://db/sts' } })),
      [
        'keys.encryptionKey: a shared database needs the key-encryption key every replica shares: set STS_KEY_ENCRYPTION_KEY ' +
          '(or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`',
        SOURCE_HASH_KEY_REQUIRED,
      ],
      'so is a shared database, even on the development defaults',
    )
    t.equal(loadConfig({ env: {} }).config.keys.encryptionKey, undefined, 'the development defaults alone run without one')

    const malformed = 'must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)'
    t.same(
      problemsOf(() => loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: 'c2hvcnQ=' } })),
      [`keys.encryptionKey: ${malformed}`],
    )
    const badFile = writeTemp(t, 'bad-kek', 'nope')
    t.same(
      problemsOf(() =>
        loadConfig({ file: writeTemp(t, 'g.json', JSON.stringify({ ...MINIMAL, keys: { encryptionKeyFile: badFile } })), env: {} }),
      ),
      [`keys.encryptionKeyFile: ${badFile} ${malformed}`],
    )
    t.match(
      problemsOf(() =>
        loadConfig({
          file: writeTemp(t, 'h.json', JSON.stringify({ ...MINIMAL, keys: { encryptionKeyFile: '/nonexistent/kek' } })),
          env: {},
        }),
      ),
      [/^keys\.encryptionKeyFile: cannot read \/nonexistent\/kek: ENOENT/],
    )
    t.same(
      problemsOf(() => parseConfig({ ...MINIMAL, keys: { encryptionKey: KEK, encryptionKeyFile: kekFile } })),
      ['keys: give the key-encryption key once: encryptionKey (STS_KEY_ENCRYPTION_KEY) or encryptionKeyFile, not both'],
    )
  },
)

const SOURCE_HASH_KEY_REQUIRED =
  'tokens.sourceHashKey: a shared database needs the source hash key every replica shares (tokens and revocation events carry hashes under it): ' +
  'set STS_SOURCE_HASH_KEY (or tokens.sourceHashKey) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`'

t.test('the source hash key: from the environment, checked, and required with a shared database', async (t) => {
  const problemsOf = (load: () => unknown) => (t.throws(load) as ConfigError).problems
  const shared = { DATABASE_URL: 'postgres://db/sts', STS_KEY_ENCRYPTION_KEY: KEK }
  t.equal(loadConfig({ env: { ...shared, STS_SOURCE_HASH_KEY: ` ${HASH_KEY}\n` } }).config.tokens.sourceHashKey, HASH_KEY, 'trimmed')
  t.same(
    problemsOf(() => loadConfig({ env: shared })),
    [SOURCE_HASH_KEY_REQUIRED],
    'required with DATABASE_URL',
  )
  t.same(
    problemsOf(() => loadConfig({ env: { ...shared, STS_SOURCE_HASH_KEY: 'c2hvcnQ=' } })),
    ['tokens.sourceHashKey: must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)'],
  )
  const file = writeTemp(t, 'sts.yaml', 'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\n')
  t.equal(
    loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config.tokens.sourceHashKey,
    undefined,
    'one instance on its embedded database may leave it out (it is derived from the key-encryption key)',
  )
})

t.test('previous key-encryption keys: from the environment (comma-separated) or files, each checked, every problem at once', async (t) => {
  const file = writeTemp(t, 'sts.yaml', 'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\n')
  const problemsOf = (load: () => unknown) => (t.throws(load) as ConfigError).problems
  const [old1, old2, old3] = [4, 5, 6].map((byte) => Buffer.alloc(32, byte).toString('base64'))
  t.same(loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config.keys.previousEncryptionKeys, [], 'none by default')
  t.same(
    loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: KEK, STS_PREVIOUS_KEY_ENCRYPTION_KEYS: ` ${old1}, ${old2} ,` } }).config.keys
      .previousEncryptionKeys,
    [old1, old2],
    'from the environment, trimmed, blanks dropped',
  )
  const inFile = writeTemp(t, 'p.json', JSON.stringify({ ...MINIMAL, keys: { previousEncryptionKeys: [old1] } }))
  t.same(
    loadConfig({ file: inFile, env: { STS_KEY_ENCRYPTION_KEY: KEK, STS_PREVIOUS_KEY_ENCRYPTION_KEYS: old2 } }).config.keys
      .previousEncryptionKeys,
    [old2],
    'the environment replaces the file, as STS_KEY_ENCRYPTION_KEY does',
  )
  const withFiles = writeTemp(
    t,
    'q.json',
    JSON.stringify({
      ...MINIMAL,
      keys: { previousEncryptionKeys: [old1], previousEncryptionKeyFiles: [writeTemp(t, 'old2', `${old2}\n`), writeTemp(t, 'old3', old3)] },
    }),
  )
  t.same(
    loadConfig({ file: withFiles, env: { STS_KEY_ENCRYPTION_KEY: KEK } }).config.keys.previousEncryptionKeys,
    [old1, old2, old3],
    'the files add theirs, trimmed',
  )
  const malformed = 'must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)'
  t.same(
    problemsOf(() => loadConfig({ file, env: { STS_KEY_ENCRYPTION_KEY: KEK, STS_PREVIOUS_KEY_ENCRYPTION_KEYS: `${old1},c2hvcnQ=` } })),
    [`keys.previousEncryptionKeys.1: ${malformed}`],
  )
  const badFile = writeTemp(t, 'bad', 'nope')
  const badFiles = writeTemp(
    t,
    'r.json',
    JSON.stringify({ ...MINIMAL, keys: { previousEncryptionKeyFiles: [badFile, '/nonexistent/old'] } }),
  )
  const problems = problemsOf(() => loadConfig({ file: badFiles, env: { STS_KEY_ENCRYPTION_KEY: KEK } }))
  t.equal(problems.length, 2, 'both files named at once')
  t.equal(problems[0], `keys.previousEncryptionKeyFiles.0: ${badFile} ${malformed}`)
  t.match(problems[1], /^keys\.previousEncryptionKeyFiles\.1: cannot read \/nonexistent\/old: ENOENT/)
})

t.test('redis: one server by URL, a primary through Sentinel, or a Cluster; each problem names its key', async (t) => {
  t.same(parseConfig(MINIMAL).redis.endpoint, undefined, 'no Redis by default')
  t.same(parseConfig({ ...MINIMAL, redis: { url: 'redis://cache:6379' } }).redis.endpoint, { url: 'redis://cache:6379' })
  const sentinel = loadConfig({
    file: writeTemp(
      t,
      'sts.yaml',
      'issuer: https://sts.example.org\ntrustDomain: example.org\naudience: sts\n' +
        'redis:\n  sentinels: [redis-0.redis:26379, " 10.0.0.5:26379", "[fd00::5]:26379"]\n  name: sts-primary\n',
    ),
    env: { REDIS_PASSWORD: 'data-secret', REDIS_SENTINEL_PASSWORD: 'sentinel-secret', STS_KEY_ENCRYPTION_KEY: KEK },
  }).config.redis
  t.same(sentinel.endpoint, {
    sentinels: [
      { host: 'redis-0.redis', port: 26379 },
      { host: '10.0.0.5', port: 26379 },
      { host: 'fd00::5', port: 26379 },
    ],
    name: 'sts-primary',
    sentinelPassword: 'sentinel-secret',
    password: 'data-secret',
  })
  t.same(parseConfig({ ...MINIMAL, redis: { cluster: ['10.0.0.1:6379', '10.0.0.2:6379'], username: 'sts' } }).redis.endpoint, {
    cluster: [
      { host: '10.0.0.1', port: 6379 },
      { host: '10.0.0.2', port: 6379 },
    ],
    username: 'sts',
  })

  const problemsOf = (redis: Record<string, unknown>) => (t.throws(() => parseConfig({ ...MINIMAL, redis })) as ConfigError).problems
  t.same(problemsOf({ url: 'redis://a', cluster: ['b:6379'] }), [
    'redis: give one of url (REDIS_URL), sentinels or cluster, not url and cluster',
  ])
  t.same(problemsOf({ sentinels: ['a:26379'] }), [
    'redis.name: with sentinels, name the primary as the Sentinels know it (the <name> of `sentinel monitor <name> ...`)',
  ])
  t.same(problemsOf({ url: 'redis://a', name: 'x', sentinelPassword: 'y' }), [
    'redis.name: only used with sentinels',
    'redis.sentinelPassword: only used with sentinels',
  ])
  t.same(problemsOf({ url: 'redis://a', password: 'p' }), [
    'redis.password: with url (REDIS_URL), the credentials go in the URL (redis://user:password@host:6379)',
  ])
  t.same(problemsOf({ username: 'u' }), ['redis.username: only used with sentinels or cluster'])
  t.same(problemsOf({ cluster: ['a:6379', 'b', 'c:99999'] }), [
    'redis.cluster.1: "b" is not host:port (e.g. redis-0.redis:26379, 10.0.0.5:6379, [fd00::5]:6379)',
    'redis.cluster.2: "c:99999" is not host:port (e.g. redis-0.redis:26379, 10.0.0.5:6379, [fd00::5]:6379)',
  ])
  t.same(problemsOf({ cluster: [] }), ['redis.cluster: list at least one node of the Cluster (every primary, preferably)'])
  t.equal(
    parseConfig({
      ...MINIMAL,
      workers: 2,
      database: { url: 'postgres://db/sts' },
      redis: { cluster: ['a:6379'] },
      keys: { encryptionKey: KEK },
      tokens: { sourceHashKey: HASH_KEY },
    }).workers,
    2,
    'several workers share a Cluster as they share one Redis',
  )
})

t.test('database: TLS as sslmode says it, and the statement timeout', async (t) => {
  t.match(parseConfig(MINIMAL).database, { statementTimeoutMs: 5000 }, 'five seconds by default')
  t.equal(parseConfig(MINIMAL).database.ssl, undefined, 'TLS as the URL says, by default')
  const ssl = { mode: 'verify-full', caFile: '/etc/sts/rds-global-bundle.pem' }
  t.same(
    parseConfig({
      ...MINIMAL,
      database: { url: 'postgres://db/sts', ssl, statementTimeoutMs: 2000 },
      keys: { encryptionKey: KEK },
      tokens: { sourceHashKey: HASH_KEY },
    }).database,
    {
      url: 'postgres://db/sts',
      dataDir: 'data/ledger',
      poolSize: 20,
      statementTimeoutMs: 2000,
      ssl,
    },
  )
  const problemsOf = (database: Record<string, unknown>) =>
    (
      t.throws(() =>
        parseConfig({ ...MINIMAL, database, keys: { encryptionKey: KEK }, tokens: { sourceHashKey: HASH_KEY } }),
      ) as ConfigError
    ).problems
  t.same(problemsOf({ url: 'postgres://db/sts', ssl: { mode: 'verify-full', certFile: '/c.pem' } }), [
    'database.ssl.keyFile: certFile and keyFile go together',
  ])
  t.same(problemsOf({ url: 'postgres://db/sts', ssl: { mode: 'verify-ca' } }), [
    'database.ssl.caFile: verify-ca needs caFile, the CA that signed the server certificate (or use verify-full, which checks the host name too)',
  ])
  t.same(problemsOf({ url: 'postgres://db/sts', ssl: { mode: 'require', caFile: '/ca.pem' } }), [
    'database.ssl.caFile: mode require does not check the server certificate: use verify-full (or verify-ca) to check it against caFile',
  ])
  t.same(problemsOf({ url: 'postgres://db/sts', ssl: { mode: 'verify' } }), [
    'database.ssl.mode: Invalid option: expected one of "disable"|"require"|"verify-ca"|"verify-full"',
  ])
  t.same(problemsOf({ url: 'postgres://db/sts?sslmode=require', ssl: { mode: 'verify-full' } }), [
    'database.ssl: database.url (DATABASE_URL) has sslmode too, which would override ssl: give TLS in one place',
  ])
  t.same(problemsOf({ ssl: { mode: 'require' } }), [
    'database.ssl: only used with url (DATABASE_URL): the embedded PGlite has no connection',
  ])
  t.same(problemsOf({ url: 'postgres://db/sts', statementTimeoutMs: 0 }), [
    'database.statementTimeoutMs: Too small: expected number to be >0',
  ])
})

t.test('tracing: off by default; the standard OTEL_* variables turn it on, off, and say where', async (t) => {
  const DEFAULT = { enabled: false, endpoint: 'http://localhost:4318/v1/traces', serviceName: 'seed-sts' }
  const tracingOf = (env: Record<string, string>, file: Record<string, unknown> = {}) =>
    loadConfig({
      file: writeTemp(t, 'sts.json', JSON.stringify({ ...MINIMAL, ...file })),
      env: { STS_KEY_ENCRYPTION_KEY: KEK, ...env },
    }).config.tracing
  t.same(parseConfig(MINIMAL).tracing, DEFAULT)
  t.same(tracingOf({}), DEFAULT, 'no variable: off')
  t.same(tracingOf({ OTEL_SERVICE_NAME: 'sts-eu' }), { ...DEFAULT, serviceName: 'sts-eu' }, 'a service name alone does not turn it on')
  t.same(tracingOf({ OTEL_TRACES_EXPORTER: 'otlp' }), { ...DEFAULT, enabled: true })
  t.same(
    tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }),
    { ...DEFAULT, enabled: true, endpoint: 'http://collector:4318/v1/traces' },
    'the general endpoint gets the traces path',
  )
  t.same(
    tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp' }),
    { ...DEFAULT, enabled: true, endpoint: 'https://traces.example/otlp' },
    'the traces endpoint is used as is, before the general one',
  )
  t.same(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled, false)
  t.same(tracingOf({ OTEL_SDK_DISABLED: 'true' }, { tracing: { enabled: true } }).enabled, false, 'the SDK switch wins over the file')
  t.same(tracingOf({}, { tracing: { enabled: true } }).enabled, true, 'or the file turns it on')
  const problems = t.throws(() => tracingOf({ OTEL_TRACES_EXPORTER: 'zipkin' })) as ConfigError
  t.same(problems.problems, [
    'tracing.exporter: only the otlp exporter is built in: set OTEL_TRACES_EXPORTER to otlp, or none to turn traces off',
  ])
})

t.test('keys.signer pkcs11: the token named once, its PIN from STS_PKCS11_PIN or a file, and no key-encryption key required', async (t) => {
  const problemsOf = (load: () => unknown) => (t.throws(load) as ConfigError).problems
  const token = { module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'seed-sts' }
  const file = (name: string, pkcs11: Record<string, unknown>) =>
    writeTemp(
      t,
      name,
      JSON.stringify({
        ...MINIMAL,
        database: { url: 'postgres://db/sts' },
        keys: { signer: 'pkcs11', pkcs11 },
        tokens: { sourceHashKey: HASH_KEY },
      }),
    )

  const fromEnv = loadConfig({ file: file('a.json', token), env: { STS_PKCS11_PIN: '1234' } }).config.keys
  t.same(
    [fromEnv.signer, fromEnv.encryptionKey, fromEnv.pkcs11],
    ['pkcs11', undefined, { ...token, pin: '1234', sessions: 2, timeoutMs: 5000 }],
  )
  const pinFile = writeTemp(t, 'pin', ' 4321\n')
  t.equal(loadConfig({ file: file('b.json', { ...token, pinFile }), env: {} }).config.keys.pkcs11?.pin, '4321', 'from pinFile, trimmed')
  t.equal(
    loadConfig({ env: { STS_PKCS11_PIN: '1234' } }).config.keys.pkcs11,
    undefined,
    'the PIN alone configures no token: without keys.pkcs11 it is ignored',
  )

  t.same(
    problemsOf(() => parseConfig({ ...MINIMAL, keys: { signer: 'pkcs11' } })),
    ['keys.pkcs11: signer pkcs11 needs the token: keys.pkcs11 with module, tokenLabel (or slot) and the PIN'],
  )
  t.same(
    problemsOf(() => loadConfig({ file: file('c.json', { ...token, slot: 3 }), env: {} })),
    [
      'keys.pkcs11: name the token once: tokenLabel or slot',
      'keys.pkcs11.pin: the token needs its user PIN: set STS_PKCS11_PIN, or keys.pkcs11.pinFile',
    ],
  )
  t.same(
    problemsOf(() => loadConfig({ file: file('d.json', { ...token, pinFile }), env: { STS_PKCS11_PIN: '1234' } })),
    ['keys.pkcs11: give the PIN once: pin (STS_PKCS11_PIN) or pinFile, not both'],
  )
  const emptyPin = writeTemp(t, 'empty-pin', '\n')
  t.same(
    problemsOf(() => loadConfig({ file: file('e.json', { ...token, pinFile: emptyPin }), env: {} })),
    [`keys.pkcs11.pinFile: ${emptyPin} is empty`],
  )
  t.match(
    problemsOf(() => loadConfig({ file: file('f.json', { ...token, pinFile: '/nonexistent/pin' }), env: {} })),
    [/^keys\.pkcs11\.pinFile: cannot read \/nonexistent\/pin: ENOENT/],
  )
})
