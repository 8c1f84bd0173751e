import type { FastifyInstance } from 'fastify'
import type { ReloadService } from '../../reload/reload-service.js'
import { actorOf } from './admin-scope.js'
import { reloadOperations, type ReloadAnswerJson } from './reload-operations.js'

export interface ReloadRoutesOptions {
  reloads: ReloadService
}

/** POST /v1/admin/reload: the configuration read again here, and every other instance asked to. */
export async function reloadRoutes(app: FastifyInstance, options: ReloadRoutesOptions): Promise<void> {
  app.post(
    '/v1/admin/reload',
    { config: { role: 'config:reload' }, schema: reloadOperations.reload },
    async (request): Promise<ReloadAnswerJson> => {
      const answer = await options.reloads.reloadEverywhere(actorOf(request))
      request.log.info(
        { reload: answer.outcome, otherInstances: answer.otherInstances },
        'configuration reload asked through the admin API',
      )
      return answer
    },
  )
}
