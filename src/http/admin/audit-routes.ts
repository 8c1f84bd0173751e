import type { FastifyInstance } from 'fastify'
import type { SqlAuditLog } from '../../audit/audit-log.js'
import { AuditQuery, auditOperations } from './audit-operations.js'
import { parseOrProblem } from './validation.js'

export interface AuditRoutesOptions {
  audit: SqlAuditLog
}

/** GET /v1/audit: every change made through the admin API, oldest first, who and what, before and after. */
export async function auditRoutes(app: FastifyInstance, options: AuditRoutesOptions): Promise<void> {
  app.get('/v1/audit', { config: { role: 'audit:read' }, schema: auditOperations.read }, async (request) => {
    const query = parseOrProblem(AuditQuery, request.query, 'query')
    const entries = await options.audit.list({
      targetType: query.targetType,
      targetId: query.targetId,
      actor: query.actor,
      after: query.cursor === undefined ? undefined : Number(query.cursor),
      limit: query.limit + 1,
    })
    const page = entries.slice(0, query.limit)
    return {
      entries: page.map((entry) => ({ ...entry, id: String(entry.id), at: entry.at.toISOString() })),
      ...(entries.length > query.limit ? { nextCursor: String(page[page.length - 1]!.id) } : {}),
    }
  })
}
