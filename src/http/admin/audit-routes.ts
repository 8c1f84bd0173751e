import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { AuditLog } from '../../audit/audit-log.js'
import { parseOrProblem } from './validation.js'

export interface AuditRoutesOptions {
  audit: AuditLog
}

const AuditQuery = z
  .object({
    targetType: z.enum(['grant', 'revocation', 'admin-token', 'registration']).optional(),
    targetId: z.string().min(1).max(128).optional(),
    actor: z.string().min(1).max(128).optional(),
    cursor: z.string().regex(/^\d{1,18}$/, 'a cursor from an earlier answer').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()

/** GET /v1/audit: every change made through the admin API, oldest first, who and what, before and after. */
export async function auditRoutes(app: FastifyInstance, options: AuditRoutesOptions): Promise<void> {
  app.get('/v1/audit', { config: { role: 'audit:read' } }, async (request) => {
    const query = parseOrProblem(AuditQuery, request.query, 'query')
    const page = await options.audit.list(query)
    return {
      entries: page.items.map((entry) => ({ ...entry, id: String(entry.id), at: entry.at.toISOString() })),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    }
  })
}
