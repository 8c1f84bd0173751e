import { z } from 'zod'
import { prose } from '../lib/prose.js'
import { operation } from './openapi/operation.js'
import { ServiceUnavailable } from './problem-responses.js'

export const healthOperations = {
  liveness: operation({
    tags: ['health'],
    operationId: 'getHealth',
    summary: 'Liveness',
    description: 'The process answers HTTP. Checks nothing else; use it as the liveness probe.',
    responses: {
      200: { description: 'Alive.', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }).strict() } } },
    },
  }),
  readiness: operation({
    tags: ['health'],
    operationId: 'getReadiness',
    summary: 'Readiness',
    description: prose`
      The instance can issue tokens: the ledger database answers, and its revocation state, grants
      and signing keys are current. Use it as the readiness probe, so traffic goes only to instances that would not
      fail closed. From the
      moment the instance starts draining (SIGTERM) it answers 503, as does every other request that
      arrives during the drain, with \`Connection: close\`. It is never shed, and load does not make it
      fail: an overloaded instance sheds the requests it cannot serve (503 \`overloaded\`) and stays ready.
    `,
    responses: {
      200: { description: 'Ready.', content: { 'application/json': { schema: z.object({ status: z.literal('ready') }).strict() } } },
      503: ServiceUnavailable,
    },
  }),
}
