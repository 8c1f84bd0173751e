import { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { ADMIN_FAILURES } from './admin-responses.js'

const Names = z.array(z.string())

/** What POST /v1/admin/reload answers (src/reload/reload-service.ts ReloadAnswer). */
export const ReloadAnswerJson = z
  .object({
    outcome: z
      .enum(['applied', 'unchanged', 'refused'])
      .describe('What this instance did: put the new configuration in force, found nothing changed, or kept the running one.'),
    changed: Names.describe(
      'The keys that changed (or, refused, would have), by name only, never their values; an attestor as `attestors.<name>`.',
    ),
    attestors: z
      .object({ added: Names, removed: Names, changed: Names })
      .strict()
      .describe('The attestors added, removed and changed, by name.'),
    problems: Names.describe(
      'Why it was refused: the messages a start would give for a configuration that does not validate, or ' +
        '`<key> cannot change at run time: restart the service to apply it` for each key that cannot. Empty otherwise.',
    ),
    otherInstances: z
      .enum(['asked', 'none', 'not_asked'])
      .describe(
        '`asked`: every other instance was asked through the reload feed (Redis) and decides for itself (see its log); ' +
          '`none`: there is no other instance (no Redis); `not_asked`: the feed could not be written (send them SIGHUP, or ask again).',
      ),
  })
  .strict()
  .meta({ id: 'ReloadAnswer' })
export type ReloadAnswerJson = z.infer<typeof ReloadAnswerJson>

export const reloadOperations = {
  reload: operation({
    tags: ['config'],
    operationId: 'reloadConfiguration',
    summary: 'Reload the configuration on every instance',
    description: prose`
      Reads the configuration (\`STS_CONFIG\` or \`--config\`, and the environment) again, as a
      SIGHUP does, on this instance, then asks every other instance to do the same through the
      reload feed on Redis. What may change at run time (the attestors, the top-level \`audience\`,
      \`clockSkewSeconds\`, the rate limits, \`limits.maxAttestationBytes\`,
      \`tokens.defaultTtlSeconds\`, \`logLevel\`) is put in force at once; exchanges already under
      way finish with the configuration they began with. A configuration that does not validate, or
      that changes anything else (\`issuer\`, \`trustDomain\`, \`database\`, \`redis\`, \`port\`,
      \`workers\`...), is refused whole, each problem or key named, and the running one is kept.
      Either way the answer is 200: \`outcome\` says what this instance did. Recorded on the audit
      log as \`config.reload\`, before it is put in force.
    `,
    responses: {
      200: {
        description: 'What this instance did, and whether the others were asked.',
        content: {
          'application/json': {
            schema: ReloadAnswerJson,
            example: {
              outcome: 'applied',
              changed: ['attestors.staging', 'limits.tokenRequestsPerMinute'],
              attestors: { added: ['staging'], removed: [], changed: [] },
              problems: [],
              otherInstances: 'asked',
            },
          },
        },
      },
      ...ADMIN_FAILURES,
    },
  }),
}
