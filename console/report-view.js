// The least-privilege report (GET /v1/reports/least-privilege), where the service has it.
import { ApiError, call } from './api.js'
import { alertError, byId, el, replaceChildren } from './dom.js'

const REPORT = '/v1/reports/least-privilege'

/**
 * REPORT VIEW: the report's own view goes here once its shape is settled (issue 13, item 2). Until
 * then a service without the endpoint answers 404 (route_not_found), and the view says so; one with
 * it has its answer shown as it came, each top-level part under its own heading.
 */
function render(report) {
  const parts = typeof report === 'object' && report !== null ? Object.entries(report) : [['report', report]]
  return parts.map(([name, value]) => el('section', {}, el('h3', {}, name), el('pre', { class: 'mono' }, JSON.stringify(value, null, 2))))
}

export async function loadReport() {
  const body = byId('report-body')
  try {
    const { body: report } = await call('GET', REPORT)
    replaceChildren(body, render(report))
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.reason === 'route_not_found') {
      replaceChildren(
        body,
        el('p', {}, 'This service does not offer the least-privilege report yet (', el('code', {}, `GET ${REPORT}`), ' answered 404).'),
      )
      return
    }
    replaceChildren(body, el('p', {}, 'The report could not be loaded.'))
    alertError(error instanceof ApiError ? `Report refused (${error.status}): ${error.message}` : error.message)
  }
}
