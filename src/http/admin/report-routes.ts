import type { FastifyInstance } from 'fastify'
import type { LeastPrivilegeReporter } from '../../reports/least-privilege-report.js'
import { LeastPrivilegeQuery, reportToJson } from '../../reports/report-json.js'
import { setOutcome } from '../request-log.js'
import { reportOperations } from './report-operations.js'
import { scopeOf } from './team-scope-checks.js'
import { parseOrProblem } from './validation.js'

export interface ReportRoutesOptions {
  reporter: LeastPrivilegeReporter
}

/** The reports: /v1/reports/least-privilege. A team's token gets its own grants and identities only. */
export async function reportRoutes(app: FastifyInstance, options: ReportRoutesOptions): Promise<void> {
  const read = { role: 'reports:read' as const }

  app.get('/v1/reports/least-privilege', { config: read, schema: reportOperations.leastPrivilege }, async (request) => {
    const query = parseOrProblem(LeastPrivilegeQuery, request.query, 'query')
    const report = await options.reporter.report({ ...query, scope: scopeOf(request) })
    setOutcome(request, { msg: 'least-privilege report', query, grants: report.grants.length, findings: report.findings.length })
    return reportToJson(report)
  })
}
