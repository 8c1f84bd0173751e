import { parseArgs } from 'node:util'
import { startAgent } from '../agent/agent.js'
import { ConfigError, loadAgentConfig } from '../config.js'
import { createLogger } from '../lib/logger.js'
import type { Output } from './command.js'

/**
 * `sts agent --config agent.yaml` (src/agent/): a daemon, not a one-shot admin command, so main.ts
 * hands it the process before the admin commands are looked at. Here, not in src/agent/, because it
 * reads the configuration (src/config.ts), which reads src/agent/'s schema. Exit codes: 0 stopped by
 * SIGTERM or SIGINT, 1 could not start (the health port taken), 2 a wrong command line or configuration.
 */

const AGENT_SUMMARY = 'keep workload tokens fresh in files, for programs in any language'

const USAGE = 'usage: sts agent --config <agent.yaml>\n'

export const AGENT_HELP = `${USAGE}
sts agent: ${AGENT_SUMMARY}.

Exchanges the workload's attestation (a Kubernetes projected token, a cloud instance identity...) for
the access tokens its configuration names, keeps each in its file (replaced whole, mode 0600), and
refreshes it at about 80 % of its lifetime. After each new token it can run a command or signal a
process. Runs until SIGTERM or SIGINT; SIGHUP checks every file at once.

options:
  --config FILE  the agent's configuration (YAML or JSON); see README, "The agent"
  -h, --help     show this help

environment:
  LOG_LEVEL      overrides the file's logLevel
  ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN   for a github attestation

exit codes:
  0  stopped by SIGTERM or SIGINT
  1  could not start (the health port is taken...)
  2  usage or configuration error, every problem named
`

/** Runs the agent until a stop signal; resolves to the exit code. */
export async function runAgent(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Output): Promise<number> {
  let values: { config?: string; help?: boolean }
  try {
    values = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }).values
  } catch (error) {
    io.stderr(`sts agent: ${(error as Error).message}\n${USAGE}`)
    return 2
  }
  if (values.help === true) {
    io.stdout(AGENT_HELP)
    return 0
  }
  if (values.config === undefined || values.config === '') {
    io.stderr(`sts agent: --config <file> is required\n${USAGE}`)
    return 2
  }
  let config
  try {
    config = loadAgentConfig(values.config, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr(`sts agent: ${values.config}: ${error.message}\n`)
    return 2
  }

  const logger = createLogger(config.logLevel)
  // A promise nobody awaited failing is a defect to log; the files keep being refreshed.
  process.on('unhandledRejection', (reason) => logger.error({ error: String(reason) }, 'unhandled promise rejection'))
  let agent
  try {
    agent = await startAgent(config, { logger, env })
  } catch (error) {
    logger.fatal({ error: (error as Error).message }, 'the agent could not start')
    io.stderr(`sts agent: could not start: ${(error as Error).message}\n`)
    return 1
  }
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'checking every token file now')
    agent.check()
  })
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  logger.info({ signal }, 'stopping: the token files stay as they are')
  await agent.close()
  logger.info('stopped')
  return 0
}
