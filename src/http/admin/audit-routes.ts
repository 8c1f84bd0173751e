import type { FastifyInstance } from 'fastify'
import type { AuditLog } from '../../audit/audit-log.js'
import { AuditQuery, auditOperations } from './audit-operations.js'
import { parseOrProblem } from './validation.js'

export interface AuditRoutesOptions {
  audit: AuditLog
}

/** GET /v1/audit: every change made through the admin API, oldest first, who and what, before and after. */
export async function auditRoutes(app: FastifyInstance, options: AuditRoutesOptions): Promise<void> {
  app.get('/v1/audit', { config: { role: 'audit:read' }, schema: auditOperations.read }, async (request) => {
    const query = parseOrProblem(AuditQuery, request.query, 'query')
    const page = await options.audit.list(query)
    return {
      entries: page.items.map((entry) => ({ ...entry, id: String(entry.id), at: entry.at.toISOString() })),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    }
  })
}
