import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../test/support/ports.js'
import { checkLedger, postgresVersion } from './bench/backends.js'
import { driveDpopExchanges, formatDpop } from './bench/dpop-load.js'
import { measureGlobWorstCases } from './bench/globs.js'
import { benchSigningKey, measureExchangeCeiling, measureRawCrypto, type Rate, type RawCryptoRates } from './bench/ceiling.js'
import { measureGrowth } from './bench/growth.js'
import { measureVerifier, type VerifierRates } from './bench/verifier.js'
import { formatGrowth, formatGrowthOnlyHeader } from './bench/growth-report.js'
import { driveLoad, percentile, type LoadResult } from './bench/load.js'
import { cpuSnapshot, cpuSplit, describeMachine, machineBusyPercent, type CpuSplit, type Machine } from './bench/machine.js'
import { benchOptionsFrom, BenchOptionsError, hasGrowthSizes, type BenchOptions } from './bench/options.js'
import { summariseCpuProfile } from './bench/profile.js'
import { exchangesPerSecond, fixed, formatProfile, formatSummary, thousands } from './bench/report.js'
import { createGrant, exchangeBody, exchangeTarget, preflight, SCOPE, subjectOf, TARGET_AUDIENCE } from './bench/requests.js'
import { measureRevocationReach, type RevocationReach } from './bench/revocation.js'
import { measureGrantPropagation, type GrantPropagation } from './bench/grant-propagation.js'
import { launchService, waitUntilReady, type RunningService, type ServiceLaunch } from './bench/service.js'
import { prepare, type Prepared } from './bench/setup.js'
import { publicKeyOf, type BenchWorkload } from './bench/workloads.js'

/**
 * `npm run bench`: how many token exchanges per second the real service (`node dist/src/server.js` on
 * Postgres and Redis) completes on this machine, against the most the machine could do (attest + sign
 * in process, one core), and whether every token it issued is on the durable ledger; then, with a second
 * instance beside it, how long a revocation made through one takes to be enforced by the other. Exits
 * non-zero if a service does not start, answer correctly or stop cleanly, if the ledger and the answers
 * disagree, or if a revocation does not reach the other instance within 5 s.
 *
 * Settings (bench/options.ts): BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_WARMUP_SECONDS (2),
 * BENCH_SERVICE_ACCOUNTS (1000), BENCH_CEILING_SECONDS (3), BENCH_DATABASE_URL (a database on the
 * Postgres server to use; `sts_bench` is created beside it), BENCH_REDIS_URL, BENCH_CPU_PROF=1 (profile
 * the service and print where its time went; the revocation rounds run on it too, so its idle share
 * grows; each growth size's service too, from its start: the .cpuprofile paths are printed), BENCH_REVOCATIONS (200; 0 skips the second instance), BENCH_GRANT_ROUNDS (100 grants created
 * and disabled through the first instance, each followed on the second; 0 skips them),
 * BENCH_SERVICE_SCRIPT (another build's dist/src/server.js, to compare two commits with the same load generator),
 * BENCH_METRICS=0 (the service without its Prometheus metrics, to see what they cost), BENCH_DPOP=0
 * (skips the window of DPoP-bound exchanges, each with a fresh proof, that follows the bearer one).
 *
 * Growth (bench/growth.ts), after all that: BENCH_GRANTS (sizes of the grants table, e.g. 100000 or
 * 1000,10000,100000) and BENCH_STANDING_REVOCATIONS (numbers of standing subject and source
 * revocations, e.g. 10000) and BENCH_LEDGER_ROWS (ledger rows, e.g. 10000000, with the ledger's
 * search and cluster revocation timings, BENCH_LEDGER_QUERIES requests per filter), each measured
 * beside 10 grants, none revoked and an empty ledger, filled straight in Postgres;
 * BENCH_GROWTH_ONLY=1 skips everything else. Without them the bench runs as it always has.
 */

async function main(): Promise<number> {
  const options = benchOptionsFrom(process.env)
  const machine = describeMachine()
  say(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`)
  const busyBefore = await machineBusyPercent(1000, machine.cores)
  if (busyBefore !== undefined)
    say(`machine busy before the bench: ${fixed(busyBefore, 0)} % of a core${busyBefore < 20 ? '' : ' (other load: expect lower figures)'}`)

  const workDir = mkdtempSync(join(tmpdir(), 'seed-sts-bench-'))
  const running: Running = {}
  stopServiceOnSignal(running, workDir)
  try {
    const prepared = await prepare(options, workDir, say)
    const launch: ServiceLaunch = {
      configFile: join(workDir, 'sts.json'),
      port: await freePort(),
      databaseUrl: prepared.databaseUrl,
      redisUrl: options.redisUrl,
      adminToken: randomBytes(24).toString('hex'),
      workDir,
      workers: options.workers,
      serverScript: options.serviceScript,
    }
    const failures: string[] = []
    const sections: string[] = []
    if (options.growth.only) {
      const versions = { postgres: await postgresVersion(prepared.databaseUrl), redis: prepared.redisVersion }
      sections.push(formatGrowthOnlyHeader(new Date(), machine, versions, options.serviceAccounts))
    } else sections.push(await measureMainPart(prepared, launch, options, machine, busyBefore, running, failures))
    if (hasGrowthSizes(options.growth)) {
      // After the main part, on the same database: its grant, revocations and ledger are replaced by each size's.
      const growth = await measureGrowth(
        launch,
        prepared.workloads,
        options,
        prepared.config.tokens.maxTtlSeconds,
        (service) => (running.growth = service),
        say,
      )
      failures.push(...growth.failures)
      sections.push(formatGrowth(growth))
    }
    print(`\nSummary (paste into the README as a code block):\n\n${sections.join('\n')}\n`)
    for (const failure of failures) process.stderr.write(`bench: FAILED: ${failure}\n`)
    return failures.length === 0 ? 0 : 1
  } catch (error) {
    process.stderr.write(`bench: FAILED: ${(error as Error).message}\n`)
    for (const [name, instance] of [
      ['the service', running.service],
      ['the second instance', running.second],
      ['the service of the growth part', running.growth],
    ] as const) {
      const log = instance?.recentLog() ?? []
      if (log.length > 0) process.stderr.write(`last lines from ${name}:\n${log.map((line) => `  ${line}`).join('\n')}\n`)
    }
    return 1
  } finally {
    await stopAll(running)
    rmSync(workDir, { recursive: true, force: true })
  }
}

/**
 * What `npm run bench` measured before growth settings existed, unchanged: the ceiling, one service
 * under load, its ledger, the revocation reach to a second instance. Returns the summary's lines.
 */
async function measureMainPart(
  prepared: Prepared,
  launch: ServiceLaunch,
  options: BenchOptions,
  machine: Machine,
  busyBefore: number | undefined,
  running: Running,
  failures: string[],
): Promise<string> {
  const { ceiling, rawCrypto, verifier } = await measureInProcess(prepared, options)
  const globs = measureGlobWorstCases()
  for (const glob of globs)
    say(
      `glob worst case: ${glob.name}: ${fixed(glob.microsPerMatch, 1)} µs a match, ${fixed(glob.growthAtTenTimes, 1)}x for a value 10x longer`,
    )

  const cpuProfileDir = options.cpuProfile ? mkdtempSync(join(tmpdir(), 'seed-sts-bench-profile-')) : undefined
  const service = (running.service = launchService({ ...launch, cpuProfileDir }))
  await waitUntilReady(service, 20_000)
  say(
    `service pid ${service.pid} ready at ${service.baseUrl}${cpuProfileDir ? ' (under --cpu-prof)' : ''}${options.serviceScript ? ` (${options.serviceScript})` : ''}`,
  )
  await createGrant(service.baseUrl, launch.adminToken)
  const preflightId = await preflight(service.baseUrl, prepared.config.issuer, prepared.workloads[0])

  const { warmup, measured, cpu } = await driveExchanges(service, prepared.workloads, options, machine.cores)
  // After the bearer window, so that figure and its CPU split stay what they always were.
  const dpop = options.dpop
    ? await driveDpopExchanges(
        exchangeTarget(service.baseUrl, prepared.workloads),
        `${prepared.config.issuer}/oauth2/token`,
        exchangesPerSecond(measured),
        options,
        say,
      )
    : undefined
  const dpopIds = dpop ? ['bench-dpop-preflight', ...(dpop.warmup?.okRequestIds ?? []), ...dpop.measured.okRequestIds] : []
  const ledger = await checkLedger(prepared.databaseUrl, [
    preflightId,
    ...(warmup?.okRequestIds ?? []),
    ...measured.okRequestIds,
    ...dpopIds,
  ])
  // After the throughput run, not before: that figure stays one instance alone, as ever, and these
  // rounds, one request at a time, are not slowed by 64 connections of load.
  const second =
    options.revocations > 0
      ? await measureRevocations(service, { ...launch, port: await freePort() }, running, prepared.workloads, options)
      : undefined
  if (second && !second.stopped.clean) failures.push(`the second instance ${second.stopped.description}`)

  const stopped = await service.stop()
  say(`service ${stopped.description}`)
  if (!ledger.ok) failures.push('the ledger does not match the 200 answers')
  if (!stopped.clean) failures.push(`the service ${stopped.description}`)
  if (measured.ok === 0) failures.push('no exchange succeeded in the measured window')
  if (dpop && dpop.measured.ok === 0) failures.push('no DPoP exchange succeeded in its window')

  const profile = cpuProfileDir ? summariseCpuProfile(cpuProfileDir) : undefined
  if (profile) print(`\n${formatProfile(profile)}`)
  else if (cpuProfileDir) say(`no CPU profile was written to ${cpuProfileDir}`)
  return formatSummary({
    date: new Date(),
    machine,
    redisVersion: prepared.redisVersion,
    options,
    measured,
    ...(dpop ? { dpop: formatDpop(dpop, measured) } : {}),
    ceiling,
    rawCrypto,
    verifier,
    ledger,
    cpu,
    busyBefore,
    profile,
    revocation: second?.reach,
    grants: second?.grants,
    globs,
  })
}

/** The ceiling and the raw crypto figures, measured before the service starts so nothing competes. */
async function measureInProcess(
  prepared: Prepared,
  options: BenchOptions,
): Promise<{ ceiling: Rate; rawCrypto: RawCryptoRates; verifier: VerifierRates }> {
  const { config, workloads } = prepared
  // Signed as the service signs: the software signer, a key of the configured kind (ES256).
  const signingKey = await benchSigningKey()
  say(`measuring the ceiling: attest + sign in this process, one core, ${options.ceilingSeconds} s`)
  const ceiling = await measureExchangeCeiling(
    config,
    workloads.map((w) => w.token),
    signingKey,
    options.ceilingSeconds,
  )
  const subject = subjectOf(workloads[0])
  const iat = Math.floor(Date.now() / 1000)
  const sample = await signingKey.signer.sign(signingKey.key, {
    iss: config.issuer,
    sub: subject,
    aud: TARGET_AUDIENCE,
    exp: iat + 300,
    iat,
    nbf: iat,
    jti: randomUUID(),
    client_id: subject,
    scope: SCOPE,
    grants: [randomUUID()],
    // A Kubernetes token's three sources (cluster, node, pod).
    src_h: [1, 2, 3].map(() => randomBytes(32).toString('base64url')),
  })
  const rawCrypto = await measureRawCrypto(
    workloads[0].token,
    publicKeyOf(prepared.cluster),
    signingKey.privateKey,
    sample.slice(0, sample.lastIndexOf('.')),
    1,
  )
  say('measuring the verifier: @seed-sts/client verify() in this process, one core, 1 s, beside node:crypto ES256 verify')
  const verifier = await measureVerifier(signingKey, sample, { iss: config.issuer, sub: subject, aud: TARGET_AUDIENCE, scope: SCOPE }, 1)
  return { ceiling, rawCrypto, verifier }
}

/**
 * A second instance as an operator would add one (same configuration file, database, Redis prefix and
 * signing keys, its own port); subjects revoked through the first, refusals awaited on the second.
 */
async function measureRevocations(
  first: RunningService,
  launch: ServiceLaunch,
  running: Running,
  workloads: readonly BenchWorkload[],
  options: BenchOptions,
): Promise<{ reach: RevocationReach; grants?: GrantPropagation; stopped: { clean: boolean; description: string } }> {
  const rounds = options.revocations
  const second = (running.second = launchService(launch))
  await waitUntilReady(second, 20_000)
  say(`second instance pid ${second.pid} ready at ${second.baseUrl} (same configuration, database, Redis prefix and keys)`)
  say(
    `measuring revocation reach: ${rounds} subjects revoked through ${first.baseUrl}, each until ${second.baseUrl} refuses it, then lifted`,
  )
  const reach = await measureRevocationReach({
    revokerUrl: first.baseUrl,
    otherUrl: second.baseUrl,
    adminToken: launch.adminToken,
    targets: workloads.map((w) => ({ subject: subjectOf(w), body: exchangeBody(w.token) })),
    rounds,
  })
  say(
    `${rounds} rounds in ${fixed(reach.elapsedSeconds, 1)} s; the revocation API answered in p50 ${fixed(percentile(reach.apiMs, 50), 1)} ms, p99 ${fixed(percentile(reach.apiMs, 99), 1)} ms`,
  )
  let grants: GrantPropagation | undefined
  if (options.grantRounds > 0) {
    say(
      `measuring grant propagation: ${options.grantRounds} grants created then disabled through ${first.baseUrl}, each until ${second.baseUrl} follows`,
    )
    grants = await measureGrantPropagation({
      writerUrl: first.baseUrl,
      otherUrl: second.baseUrl,
      adminToken: launch.adminToken,
      targets: workloads.map((w) => ({ subject: subjectOf(w), token: w.token })),
      rounds: options.grantRounds,
    })
    say(`${options.grantRounds} rounds in ${fixed(grants.elapsedSeconds, 1)} s`)
  }
  const stopped = await second.stop()
  say(`second instance ${stopped.description}`)
  return { reach, ...(grants ? { grants } : {}), stopped }
}

/** Warm-up, then the measured window, with where the machine's CPU went during it. */
async function driveExchanges(
  service: RunningService,
  workloads: readonly BenchWorkload[],
  options: BenchOptions,
  cores: number,
): Promise<{ warmup?: LoadResult; measured: LoadResult; cpu?: CpuSplit }> {
  const target = exchangeTarget(service.baseUrl, workloads)
  const { connections } = options
  let warmup: LoadResult | undefined
  if (options.warmupSeconds > 0) {
    say(`warming up: ${connections} connections, ${options.warmupSeconds} s`)
    warmup = await driveLoad(target, { connections, seconds: options.warmupSeconds, requestIdPrefix: 'bench-warmup' })
  }
  say(`measuring: ${connections} connections, ${options.seconds} s`)
  const before = cpuSnapshot()
  const measured = await driveLoad(target, { connections, seconds: options.seconds, requestIdPrefix: 'bench-run' })
  const cpu = cpuSplit(before, cpuSnapshot(), service.pid, cores)
  say(`${thousands(measured.ok)} exchanges in ${fixed(measured.elapsedSeconds, 2)} s: ${thousands(exchangesPerSecond(measured))}/s`)
  for (const [status, body] of measured.sampleBodies) say(`first ${status} answer: ${body}`)
  return { warmup, measured, cpu }
}

interface Running {
  service?: RunningService
  second?: RunningService
  growth?: RunningService
}

/** Stopping one already stopped is harmless: it answers how it ended. */
async function stopAll(running: Running): Promise<void> {
  await Promise.all([running.second?.stop(), running.service?.stop(), running.growth?.stop()])
}

/** Interrupted: never leave a service running behind us. */
function stopServiceOnSignal(running: Running, workDir: string): void {
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${signal}: stopping the service\n`)
    void stopAll(running).finally(() => {
      rmSync(workDir, { recursive: true, force: true })
      process.exit(130)
    })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

function say(message: string): void {
  process.stdout.write(`bench: ${message}\n`)
}

function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof BenchOptionsError
    process.stderr.write(`bench: ${usage ? error.message : `FAILED: ${(error as Error).stack ?? String(error)}`}\n`)
    process.exit(usage ? 2 : 1)
  },
)
