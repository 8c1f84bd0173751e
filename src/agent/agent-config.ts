import { constants } from 'node:os'
import { resolve } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../config-error.js'

/**
 * The agent's configuration file (`sts agent --config agent.yaml`), read by src/config.ts
 * (`loadAgentConfig`): which STS, how this workload proves itself, and which token goes in which file.
 * Every problem is reported at once, each at its key.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const ATTESTATION_KINDS = ['kubernetes', 'file', 'aws', 'gcp', 'azure', 'github'] as const

const Path = z.string().min(1, 'must be a path')
const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
const Name = z.string().min(1, 'must not be empty')

/** The projected service-account token the kubelet mounts and rotates; the usual path by default. */
const KubernetesAttestation = z.object({ kind: z.literal('kubernetes'), path: Path.default('/var/run/secrets/tokens/sts-token') }).strict()

/** Any token kept in a file by someone else. */
const FileAttestation = z.object({ kind: z.literal('file'), path: Path, subjectTokenType: Name.optional() }).strict()

const AwsAttestation = z
  .object({
    kind: z.literal('aws'),
    /** Shared by every process on the instance (the client's awsInstanceIdentity says why). */
    noncePath: Path,
    form: z.enum(['rsa2048', 'signature', 'pkcs7']).optional(),
    endpoint: HttpUrl.optional(),
  })
  .strict()

const GcpAttestation = z
  .object({
    kind: z.literal('gcp'),
    audience: Name,
    serviceAccount: Name.optional(),
    licenses: z.boolean().optional(),
    endpoint: HttpUrl.optional(),
  })
  .strict()

/** IMDS attested data, or with `managedIdentity` a managed-identity token for that resource. */
const AzureAttestation = z
  .object({
    kind: z.literal('azure'),
    managedIdentity: z
      .object({ resource: Name, clientId: Name.optional(), objectId: Name.optional(), resourceId: Name.optional() })
      .strict()
      .refine((m) => [m.clientId, m.objectId, m.resourceId].filter((id) => id !== undefined).length <= 1, {
        message: 'name the identity by one of clientId, objectId, resourceId',
      })
      .optional(),
    apiVersion: Name.optional(),
    endpoint: HttpUrl.optional(),
  })
  .strict()

/** GitHub sets both variables only for jobs with `permissions: id-token: write`; config.ts fills them in. */
const GithubAttestation = z
  .object({
    kind: z.literal('github'),
    audience: Name,
    requestUrl: HttpUrl.optional(),
    requestToken: Name.optional(),
  })
  .strict()
  .superRefine((github, ctx) => {
    if (github.requestUrl === undefined) ctx.addIssue({ code: 'custom', path: ['requestUrl'], message: NOT_IN_A_JOB('URL') })
    if (github.requestToken === undefined) ctx.addIssue({ code: 'custom', path: ['requestToken'], message: NOT_IN_A_JOB('TOKEN') })
  })

const NOT_IN_A_JOB = (what: string) =>
  `ACTIONS_ID_TOKEN_REQUEST_${what} is not set: run in a GitHub Actions job with \`permissions: id-token: write\``

export const AgentAttestationConfig = z.discriminatedUnion(
  'kind',
  [KubernetesAttestation, FileAttestation, AwsAttestation, GcpAttestation, AzureAttestation, GithubAttestation],
  { error: () => `kind must be one of ${ATTESTATION_KINDS.join(', ')}` },
)
export type AgentAttestationConfig = z.infer<typeof AgentAttestationConfig>

const SignalName = z
  .string()
  .refine((name) => name.startsWith('SIG') && name in constants.signals, { message: 'must be a signal name such as SIGHUP' })

/**
 * What runs after each new token is in its file: a command (an argv list, run without a shell; write
 * `[sh, -c, "..."]` to have one) or a signal to the process whose pid a file holds.
 */
const AfterRefresh = z
  .object({
    command: z.array(Name).min(1, 'must name the program to run').optional(),
    /** The command is killed after this long, and counted as failed. */
    timeoutSeconds: z.number().positive().max(3600).default(30),
    signal: z
      .object({ pidFile: Path, signal: SignalName.default('SIGHUP') })
      .strict()
      .optional(),
  })
  .strict()
  .refine((hook) => (hook.command === undefined) !== (hook.signal === undefined), {
    message: 'give either `command` or `signal`',
  })

/** Scopes as the client keys its cache: unique, sorted, space-separated (so events can be routed back). */
const Scope = z
  .union([z.string(), z.array(z.string())], { error: 'must be a space-separated string or a list of scopes' })
  .transform((scope) => {
    const words = (Array.isArray(scope) ? scope.join(' ') : scope).split(/\s+/).filter((word) => word !== '')
    return words.length === 0 ? undefined : [...new Set(words)].sort().join(' ')
  })

const TokenEntry = z
  .object({
    audience: Name,
    scope: Scope.optional(),
    /** Where the token is kept; replaced whole (a new file renamed over it), mode 0600. */
    file: Path,
    afterRefresh: AfterRefresh.optional(),
  })
  .strict()
export type AgentTokenConfig = z.infer<typeof TokenEntry>

export const AgentConfigSchema = z
  .object({
    /** The STS's base URL; tokens come from `<sts>/oauth2/token`. */
    sts: HttpUrl,
    attestation: AgentAttestationConfig,
    tokens: z.array(TokenEntry).min(1, 'name at least one token to keep'),
    /** GET /healthz, /readyz and /metrics; none without it. */
    health: z
      .object({ host: Name.default('0.0.0.0'), port: z.number().int().min(0).max(65_535) })
      .strict()
      .optional(),
    /** When each token is refreshed: at `at` of its lifetime, plus or minus `jitter`, as the client does. */
    refresh: z
      .object({ at: z.number().gt(0).lt(1).default(0.8), jitter: z.number().min(0).lt(0.5).default(0.05) })
      .strict()
      .refine((r) => r.at - r.jitter > 0 && r.at + r.jitter < 1, { message: 'at ± jitter must stay between 0 and 1' })
      .default({ at: 0.8, jitter: 0.05 }),
    /** How often each file is checked against the token source (new tokens are written as they arrive anyway). */
    checkIntervalSeconds: z.number().positive().max(300).default(5),
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .strict()
export type AgentConfig = z.infer<typeof AgentConfigSchema>

/**
 * Validates an agent configuration already read (file and environment merged). Relative paths are
 * taken from `baseDir`, the configuration file's directory, so the file means the same from anywhere.
 */
export function parseAgentConfig(input: unknown, baseDir: string): AgentConfig {
  const result = AgentConfigSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`))
  }
  const resolved = resolvePaths(result.data, baseDir)
  const seen = new Map<string, number>()
  const problems: string[] = []
  resolved.tokens.forEach((entry, index) => {
    const first = seen.get(entry.file)
    if (first !== undefined) problems.push(`tokens.${index}.file: ${entry.file} is tokens.${first}'s file too`)
    else seen.set(entry.file, index)
  })
  if (problems.length > 0) throw new ConfigError(problems)
  return resolved
}

function resolvePaths(config: AgentConfig, baseDir: string): AgentConfig {
  const at = (path: string) => resolve(baseDir, path)
  const attestation = config.attestation
  return {
    ...config,
    attestation:
      attestation.kind === 'kubernetes' || attestation.kind === 'file'
        ? { ...attestation, path: at(attestation.path) }
        : attestation.kind === 'aws'
          ? { ...attestation, noncePath: at(attestation.noncePath) }
          : attestation,
    tokens: config.tokens.map((entry) => ({
      ...entry,
      file: at(entry.file),
      ...(entry.afterRefresh?.signal
        ? {
            afterRefresh: {
              ...entry.afterRefresh,
              signal: { ...entry.afterRefresh.signal, pidFile: at(entry.afterRefresh.signal.pidFile) },
            },
          }
        : {}),
    })),
  }
}
