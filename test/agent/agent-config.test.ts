import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadAgentConfig } from '../../src/config.js'

/** The agent's configuration file: what it means once read, and every problem named at its key. */

function configFile(t: Test, name: string, text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sts-agent-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, name)
  writeFileSync(file, text)
  return { dir, file }
}

function problemsOf(load: () => unknown): string[] {
  try {
    load()
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('a full file: paths from its own directory, scopes as the client keys them, defaults filled in', async (t) => {
  const { dir, file } = configFile(
    t,
    'agent.yaml',
    `sts: https://sts.example.org
attestation:
  kind: kubernetes
tokens:
  - audience: ledger-api
    scope: "ledger:write  ledger:read ledger:write"
    file: tokens/ledger.token
    afterRefresh:
      command: [nginx, -s, reload]
  - audience: search-api
    scope: [search:query]
    file: /run/sts/search.token
    afterRefresh:
      signal: { pidFile: app.pid }
  - audience: audit-api
    file: /run/sts/audit.token
health: { port: 9090 }
`,
  )
  t.same(loadAgentConfig(file, {}), {
    sts: 'https://sts.example.org',
    attestation: { kind: 'kubernetes', path: '/var/run/secrets/tokens/sts-token' },
    tokens: [
      {
        audience: 'ledger-api',
        scope: 'ledger:read ledger:write',
        file: join(dir, 'tokens/ledger.token'),
        afterRefresh: { command: ['nginx', '-s', 'reload'], timeoutSeconds: 30 },
      },
      {
        audience: 'search-api',
        scope: 'search:query',
        file: '/run/sts/search.token',
        afterRefresh: { signal: { pidFile: join(dir, 'app.pid'), signal: 'SIGHUP' }, timeoutSeconds: 30 },
      },
      { audience: 'audit-api', file: '/run/sts/audit.token' },
    ],
    health: { host: '0.0.0.0', port: 9090 },
    refresh: { at: 0.8, jitter: 0.05 },
    checkIntervalSeconds: 5,
    logLevel: 'info',
  })
})

t.test('each attestation kind, as written', async (t) => {
  const kinds: [string, Record<string, unknown>][] = [
    ['{ kind: file, path: /run/token, subjectTokenType: "urn:x" }', { kind: 'file', path: '/run/token', subjectTokenType: 'urn:x' }],
    ['{ kind: aws, noncePath: /var/lib/sts/nonce, form: pkcs7 }', { kind: 'aws', noncePath: '/var/lib/sts/nonce', form: 'pkcs7' }],
    ['{ kind: gcp, audience: sts.example.org, licenses: true }', { kind: 'gcp', audience: 'sts.example.org', licenses: true }],
    ['{ kind: azure }', { kind: 'azure' }],
    [
      '{ kind: azure, managedIdentity: { resource: "api://seed-sts", clientId: c1 } }',
      { kind: 'azure', managedIdentity: { resource: 'api://seed-sts', clientId: 'c1' } },
    ],
  ]
  for (const [yaml, expected] of kinds) {
    const { file } = configFile(t, 'agent.yaml', `sts: http://sts:8080\nattestation: ${yaml}\ntokens: [{ audience: a, file: /run/a }]\n`)
    t.same(loadAgentConfig(file, {}).attestation, expected, yaml)
  }
})

t.test('a github attestation takes the job URL and token from the environment, and needs both', async (t) => {
  const { file } = configFile(
    t,
    'agent.yaml',
    'sts: http://sts:8080\nattestation: { kind: github, audience: sts }\ntokens: [{ audience: a, file: /run/a }]\n',
  )
  t.same(
    loadAgentConfig(file, {
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://actions.example/token?x=1',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'job-secret',
    }).attestation,
    { kind: 'github', audience: 'sts', requestUrl: 'https://actions.example/token?x=1', requestToken: 'job-secret' },
  )
  t.same(
    problemsOf(() => loadAgentConfig(file, {})),
    [
      'attestation.requestUrl: ACTIONS_ID_TOKEN_REQUEST_URL is not set: run in a GitHub Actions job with `permissions: id-token: write`',
      'attestation.requestToken: ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: run in a GitHub Actions job with `permissions: id-token: write`',
    ],
  )
})

t.test('LOG_LEVEL overrides the file', async (t) => {
  const { file } = configFile(
    t,
    'agent.json',
    JSON.stringify({ sts: 'http://sts', attestation: { kind: 'kubernetes' }, tokens: [{ audience: 'a', file: '/a' }], logLevel: 'warn' }),
  )
  t.equal(loadAgentConfig(file, {}).logLevel, 'warn')
  t.equal(loadAgentConfig(file, { LOG_LEVEL: 'debug' }).logLevel, 'debug')
})

t.test('every problem at once, each at its key', async (t) => {
  const { file } = configFile(
    t,
    'agent.yaml',
    `sts: ftp://sts.example.org
attestation: { kind: kubelet }
tokens:
  - audience: ""
    file: a.token
    afterRefresh:
      command: []
  - audience: b
    file: b.token
    scope: 7
    afterRefresh:
      command: [reload]
      signal: { pidFile: app.pid, signal: SIGNOPE }
health: { port: 70000 }
refresh: { at: 0.97 }
colour: blue
`,
  )
  t.same(
    problemsOf(() => loadAgentConfig(file, {})),
    [
      'sts: must be an http:// or https:// URL',
      'attestation.kind: kind must be one of kubernetes, file, aws, gcp, azure, github',
      'tokens.0.audience: must not be empty',
      'tokens.0.afterRefresh.command: must name the program to run',
      'tokens.1.scope: must be a space-separated string or a list of scopes',
      'tokens.1.afterRefresh.signal.signal: must be a signal name such as SIGHUP',
      'tokens.1.afterRefresh: give either `command` or `signal`',
      'health.port: Too big: expected number to be <=65535',
      'refresh: at ± jitter must stay between 0 and 1',
      '(top level): Unrecognized key: "colour"',
    ],
  )
})

t.test('two entries may not share a file, however it is written', async (t) => {
  const { dir, file } = configFile(
    t,
    'agent.yaml',
    'sts: http://sts\nattestation: { kind: kubernetes }\ntokens:\n  - { audience: a, file: a.token }\n  - { audience: b, file: ./x/../a.token }\n',
  )
  t.same(
    problemsOf(() => loadAgentConfig(file, {})),
    [`tokens.1.file: ${join(dir, 'a.token')} is tokens.0's file too`],
  )
})

t.test('a file that is missing, empty of tokens, or not YAML says so', async (t) => {
  t.match(
    problemsOf(() => loadAgentConfig('/nonexistent/agent.yaml', {})),
    [/^cannot read configuration file \/nonexistent\/agent.yaml: ENOENT/],
  )
  const empty = configFile(t, 'agent.yaml', 'sts: http://sts\nattestation: { kind: kubernetes }\ntokens: []\n')
  t.same(
    problemsOf(() => loadAgentConfig(empty.file, {})),
    ['tokens: name at least one token to keep'],
  )
  const broken = configFile(t, 'agent.yaml', 'sts: http://sts\n  tokens: [\n')
  t.match(
    problemsOf(() => loadAgentConfig(broken.file, {})),
    [/^configuration file .*agent\.yaml is not valid YAML at line \d+, column \d+/],
  )
})
