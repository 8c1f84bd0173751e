import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { parseAgentConfig, type AgentConfig } from './agent/agent-config.js'
import { ConfigError } from './config-error.js'
import { parseConfig, type Config } from './config/config-schema.js'
import { KeyEncryptionKeyText } from './keys/keys-config.js'

export { AttestorConfig } from './attestors/attestors-config.js'
export { ConfigSchema, parseConfig, type Config } from './config/config-schema.js'
export { ConfigError }

/**
 * The one reader of process.env and of the configuration file. Everything else receives a validated
 * Config. Problems are reported all at once, each naming the key, and the process stops before
 * listening. The schema is src/config/config-schema.ts, made of each concept's section (the `keys`
 * section is src/keys/keys-config.ts, and so on).
 */

/** What starts the service when nobody wrote a configuration file: fine on a laptop, said loudly in the log. */
export const DEVELOPMENT_DEFAULTS = {
  issuer: 'http://localhost:8080',
  trustDomain: 'sts.localhost',
  audience: 'seed-sts',
}

export interface ConfigSource {
  /** Path of the YAML or JSON file, from --config or STS_CONFIG. */
  file?: string
  env: Record<string, string | undefined>
}

export interface LoadedConfig {
  config: Config
  /** Where the values came from, for the start-up log line. */
  file?: string
  usedDevelopmentDefaults: boolean
}

export function configSourceFromProcess(argv = process.argv.slice(2), env = process.env): ConfigSource {
  const flag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='))
  let file = env.STS_CONFIG
  if (flag >= 0) file = argv[flag].includes('=') ? argv[flag].slice('--config='.length) : argv[flag + 1]
  return { file: file || undefined, env }
}

export function loadConfig(source: ConfigSource): LoadedConfig {
  const raw = source.file ? readConfigFile(source.file) : { ...DEVELOPMENT_DEFAULTS }
  const merged = applyEnvironment(raw, source.env)
  if (!source.file && !source.env.STS_ISSUER) merged.issuer = developmentIssuer(merged.host, merged.port)
  const config = readPkcs11Pin(readKeyEncryptionKey(parseConfig(merged)))
  if (source.file && config.keys.encryptionKey === undefined && config.keys.signer === 'software') {
    // A configuration file says this is a deployment: its keys must not be sealed with a key kept beside them.
    throw new ConfigError([
      'keys.encryptionKey: the signing keys are encrypted with a key-encryption key, and none is configured: ' +
        'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to 32 random bytes in base64, e.g. from `openssl rand -base64 32`, ' +
        'and keep it as safe as the database backups (the development defaults generate one in the data directory instead)',
    ])
  }
  return { config, file: source.file, usedDevelopmentDefaults: !source.file }
}

/**
 * The agent's configuration (`sts agent --config agent.yaml`, src/agent/agent-config.ts): the file, with
 * LOG_LEVEL and, for a GitHub Actions attestation, the job's ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN
 * from the environment. Throws a ConfigError naming every problem.
 */
export function loadAgentConfig(file: string, env: Record<string, string | undefined>): AgentConfig {
  const raw = readConfigFile(file)
  if (env.LOG_LEVEL) raw.logLevel = env.LOG_LEVEL
  const attestation = raw.attestation
  if (typeof attestation === 'object' && attestation !== null && (attestation as { kind?: unknown }).kind === 'github') {
    raw.attestation = {
      ...attestation,
      ...(env.ACTIONS_ID_TOKEN_REQUEST_URL ? { requestUrl: env.ACTIONS_ID_TOKEN_REQUEST_URL } : {}),
      ...(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ? { requestToken: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN } : {}),
    }
  }
  return parseAgentConfig(raw, dirname(resolve(file)))
}

/** The key-encryption keys of keys.encryptionKeyFile and keys.previousEncryptionKeyFiles, checked as the environment's are. */
function readKeyEncryptionKey(config: Config): Config {
  const { encryptionKeyFile, previousEncryptionKeyFiles } = config.keys
  const problems: string[] = []
  const read = (option: string, file: string): string | undefined => {
    let text: string
    try {
      text = readFileSync(resolve(file), 'utf8')
    } catch (error) {
      problems.push(`${option}: cannot read ${file}: ${(error as Error).message}`)
      return undefined
    }
    const parsed = KeyEncryptionKeyText.safeParse(text)
    if (!parsed.success) problems.push(`${option}: ${file} ${parsed.error.issues[0]?.message ?? 'is not a key'}`)
    return parsed.data
  }
  const encryptionKey = encryptionKeyFile === undefined ? config.keys.encryptionKey : read('keys.encryptionKeyFile', encryptionKeyFile)
  const previous = previousEncryptionKeyFiles.map((file, index) => read(`keys.previousEncryptionKeyFiles.${index}`, file))
  if (problems.length > 0) throw new ConfigError(problems)
  const previousEncryptionKeys = [...config.keys.previousEncryptionKeys, ...(previous as string[])]
  return { ...config, keys: { ...config.keys, encryptionKey, previousEncryptionKeys } }
}

/** A comma-separated list from the environment, without blanks. */
function listOf(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** The PKCS#11 user PIN from keys.pkcs11.pinFile. */
function readPkcs11Pin(config: Config): Config {
  const pkcs11 = config.keys.pkcs11
  if (pkcs11?.pinFile === undefined) return config
  let pin: string
  try {
    pin = readFileSync(resolve(pkcs11.pinFile), 'utf8').trim()
  } catch (error) {
    throw new ConfigError([`keys.pkcs11.pinFile: cannot read ${pkcs11.pinFile}: ${(error as Error).message}`])
  }
  if (pin === '') throw new ConfigError([`keys.pkcs11.pinFile: ${pkcs11.pinFile} is empty`])
  return { ...config, keys: { ...config.keys, pkcs11: { ...pkcs11, pin } } }
}

/**
 * The configuration read again for a reload (SIGHUP, POST /v1/admin/reload), exactly as at start: the
 * same file and environment, the same schema, the same messages. A problem is returned, not thrown: a
 * running service refuses the new configuration and keeps its own (src/reload/config-reloader.ts).
 */
export function reloadConfig(source: ConfigSource): { config: Config } | { problems: string[] } {
  try {
    return { config: loadConfig(source).config }
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems }
    throw error
  }
}

/**
 * Without a file the issuer is where the service listens (PORT and HOST included), so the URLs discovery
 * advertises reach it; a wildcard address is reached at localhost. A port that is not one keeps the
 * default issuer, so the only problem reported is the port's.
 */
function developmentIssuer(host: unknown, port: unknown): string {
  const listenPort = port === undefined ? 8080 : port
  if (typeof listenPort !== 'number' || !Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65_535) {
    return DEVELOPMENT_DEFAULTS.issuer
  }
  const wildcard = typeof host !== 'string' || host === '' || host === '0.0.0.0' || host === '::'
  const name = wildcard ? 'localhost' : host
  return `http://${isIP(name) === 6 ? `[${name}]` : name}:${listenPort}`
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(resolve(file), 'utf8')
  } catch (error) {
    throw new ConfigError([`cannot read configuration file ${file}: ${(error as Error).message}`])
  }
  let parsed: unknown
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: false })
  } catch (error) {
    throw new ConfigError([
      `configuration file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}${syntaxErrorAt(text, error)}`,
    ])
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`configuration file ${file} must hold an object at its top level`])
  }
  return parsed as Record<string, unknown>
}

/**
 * Where a file fails to parse, without quoting it: the parsers' own messages quote the offending line,
 * and this message reaches logs, the audit log and the reload endpoint's answer, where a line holding a
 * password or a token must not. JSON is located by the YAML parser too (JSON is YAML), when it can be.
 */
function syntaxErrorAt(text: string, error: unknown): string {
  let located = error
  if (!(error instanceof YAMLParseError)) {
    try {
      parseYaml(text, { prettyErrors: false })
    } catch (yamlError) {
      located = yamlError
    }
  }
  if (!(located instanceof YAMLParseError)) return ''
  const before = text.slice(0, located.pos[0]).split('\n')
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}: ${located.message}`
}

function applyEnvironment(raw: Record<string, unknown>, env: ConfigSource['env']): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...raw }
  const section = (name: string): Record<string, unknown> => {
    const current = merged[name]
    const copy = typeof current === 'object' && current !== null ? { ...(current as Record<string, unknown>) } : {}
    merged[name] = copy
    return copy
  }
  if (env.PORT !== undefined) merged.port = Number(env.PORT)
  if (env.HOST) merged.host = env.HOST
  if (env.STS_ISSUER) merged.issuer = env.STS_ISSUER
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL
  if (env.DATABASE_URL) section('database').url = env.DATABASE_URL
  if (env.REDIS_URL) section('redis').url = env.REDIS_URL
  if (env.REDIS_PASSWORD) section('redis').password = env.REDIS_PASSWORD
  if (env.REDIS_SENTINEL_PASSWORD) section('redis').sentinelPassword = env.REDIS_SENTINEL_PASSWORD
  if (env.STS_ADMIN_TOKEN) section('admin').token = env.STS_ADMIN_TOKEN
  if (env.STS_KEY_ENCRYPTION_KEY) section('keys').encryptionKey = env.STS_KEY_ENCRYPTION_KEY
  if (env.STS_SOURCE_HASH_KEY) section('tokens').sourceHashKey = env.STS_SOURCE_HASH_KEY
  const pkcs11 = (merged.keys as { pkcs11?: unknown } | undefined)?.pkcs11
  // Only into a token the file describes: the PIN alone says nothing of which token it opens.
  if (env.STS_PKCS11_PIN && typeof pkcs11 === 'object' && pkcs11 !== null) section('keys').pkcs11 = { ...pkcs11, pin: env.STS_PKCS11_PIN }
  if (env.STS_PREVIOUS_KEY_ENCRYPTION_KEYS) section('keys').previousEncryptionKeys = listOf(env.STS_PREVIOUS_KEY_ENCRYPTION_KEYS)
  if (env.STS_WORKERS) merged.workers = env.STS_WORKERS === 'auto' ? 'auto' : Number(env.STS_WORKERS)
  applyTracingEnvironment(section, env)
  return merged
}

/**
 * The standard OpenTelemetry variables: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn traces
 * off whatever the file says; OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint given by
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT (with /v1/traces
 * appended, as the specification says), turn them on. Any other exporter is left to the schema to refuse.
 */
function applyTracingEnvironment(section: (name: string) => Record<string, unknown>, env: ConfigSource['env']): void {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined
  if (!exporter && !tracesEndpoint && !endpoint && !env.OTEL_SERVICE_NAME && !env.OTEL_SDK_DISABLED) return
  const tracing = section('tracing')
  if (tracesEndpoint) tracing.endpoint = tracesEndpoint
  else if (endpoint) tracing.endpoint = `${endpoint.replace(/\/+$/, '')}/v1/traces`
  if (env.OTEL_SERVICE_NAME) tracing.serviceName = env.OTEL_SERVICE_NAME
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporter === 'none') tracing.enabled = false
  else if (exporter === 'otlp' || (!exporter && (tracesEndpoint || endpoint))) tracing.enabled = true
  // Said through the schema, with every other problem: only OTLP is built in.
  else if (exporter) tracing.exporter = env.OTEL_TRACES_EXPORTER
}
