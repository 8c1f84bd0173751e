import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import t from 'tap'
import { eventually } from '../support/eventually.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Traces of real exchanges on real Postgres and Redis, caught by an in-memory exporter: the span tree of
 * an issued and of a refused token, the caller's trace kept, no credential in any attribute, and
 * nothing at all with tracing off.
 */

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'

async function post(sts: TestService, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString(),
  })
  return { statusCode: response.statusCode, body: response.json<Record<string, unknown>>() }
}

const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId)
const names = (spans: ReadableSpan[]) => spans.map((span) => span.name)
const nanos = (span: ReadableSpan) => BigInt(span.startTime[0]) * 1_000_000_000n + BigInt(span.startTime[1])
const byStart = (spans: ReadableSpan[]) => [...spans].sort((a, b) => (nanos(a) < nanos(b) ? -1 : nanos(a) > nanos(b) ? 1 : 0))

t.test('an issued and a refused exchange: the span tree, its attributes and status, the caller trace kept', async (t) => {
  const exporter = new InMemorySpanExporter()
  const sts = await startTestService(t, { config: { tracing: { enabled: true } }, spanExporter: exporter })
  t.not(sts.services.tracing, undefined)
  const subject = `spiffe://${TRUST_DOMAIN}/k8s/prod/**`
  await sts.createGrant({ subject, audiences: ['ledger-api'], owner: 'team-payments' })
  exporter.reset()

  const attestation = await sts.cluster.serviceAccountToken()
  const form = { grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE }
  const issued = await post(sts, form, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` })
  t.equal(issued.statusCode, 200)
  const refused = await post(sts, { ...form, audience: 'billing' })
  t.equal(refused.statusCode, 400)
  await eventually(t, () => exporter.getFinishedSpans().filter((span) => span.name === 'sts.token_exchange').length === 2, {
    what: 'both exchange spans',
  })
  const spans = exporter.getFinishedSpans()

  const [first, second] = byStart(spans.filter((span) => span.name === 'sts.token_exchange'))
  if (first === undefined || second === undefined) throw new Error('two exchange spans expected')
  t.equal(first.kind, SpanKind.SERVER)
  t.equal(first.spanContext().traceId, TRACE_ID, "the caller's trace is kept")
  t.equal(first.parentSpanContext?.spanId, PARENT_ID, "and the exchange is its caller's child")
  t.same(first.attributes, {
    'sts.attestor.name': 'prod',
    'sts.attestor.kind': 'kubernetes',
    'sts.subject': 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    'sts.outcome': 'issued',
  })
  t.same(first.status, { code: SpanStatusCode.OK })
  t.same(names(byStart(childrenOf(spans, first))), ['sts.attest', 'sts.grants', 'sts.revocation_check', 'sts.ledger_commit', 'sts.sign'])
  const phase = (parent: ReadableSpan, name: string) => {
    const found = childrenOf(spans, parent).find((span) => span.name === name)
    if (!found) throw new Error(`no ${name} under ${parent.name}`)
    return found
  }
  // The budget per identity is counted on Redis in the attest phase; the ledger's batch is written in the ledger_commit phase.
  const budget = childrenOf(spans, phase(first, 'sts.attest'))
  t.same(names(budget), ['redis.command'])
  t.equal(budget[0]?.kind, SpanKind.CLIENT)
  // ioredis sends a script by EVALSHA once it knows the server has it, by EVAL before.
  t.match(budget[0]?.attributes, { 'db.system': 'redis', 'db.system.name': 'redis', 'db.operation.name': /^EVAL(SHA)?$/ })
  t.same(
    Object.keys(budget[0]?.attributes ?? {}).sort(),
    ['db.operation.name', 'db.system', 'db.system.name'],
    'never its keys or arguments',
  )
  const query = (operation: string) => [
    'db.query',
    SpanKind.CLIENT,
    { 'db.system': 'postgresql', 'db.system.name': 'postgresql', 'db.operation.name': operation },
  ]
  t.same(
    byStart(childrenOf(spans, phase(first, 'sts.ledger_commit'))).map((span) => [span.name, span.kind, span.attributes]),
    // The subject and sources seen for the first time are numbered (looked up, then inserted: migration
    // 023's dictionaries), then the rows written; an instance that has seen them writes the rows only.
    [query('SELECT'), query('INSERT'), query('SELECT'), query('INSERT'), query('INSERT')],
    "the ledger's statements, each by its first keyword only",
  )

  t.not(second.spanContext().traceId, TRACE_ID, 'a request without traceparent starts its own trace')
  t.equal(second.parentSpanContext, undefined)
  t.same(second.attributes, {
    'sts.attestor.name': 'prod',
    'sts.attestor.kind': 'kubernetes',
    'sts.subject': 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    'sts.outcome': 'refused',
    'oauth.error': 'invalid_target',
    'sts.reason': 'audience_not_granted',
  })
  t.same(second.status, { code: SpanStatusCode.UNSET }, "a refusal is the client's: not an error of the service")
  t.same(names(byStart(childrenOf(spans, second))), ['sts.attest', 'sts.grants'], 'the refusal ends the trace in the grants phase')

  t.same(
    spans.filter((span) => ![TRACE_ID, second.spanContext().traceId].includes(span.spanContext().traceId)).map((span) => span.name),
    [],
    'every span belongs to one of the two exchanges: nothing outside an exchange is traced',
  )
  t.equal(spans.length, 16)

  const values = spans.flatMap((span) => Object.values(span.attributes).map(String))
  const accessToken = String(issued.body.access_token)
  t.ok(accessToken.length > 100)
  t.notOk(
    values.some((value) => value.includes(attestation) || value.includes(accessToken)),
    'no credential in any attribute',
  )
  t.notOk(
    values.some((value) => value.startsWith('eyJ')),
    'nor any part of a JWT',
  )
  t.notOk(
    values.some((value) => value.includes('ledger-api') || value.includes('billing')),
    'nor the audience asked',
  )
})

t.test('tracing off: no span, and no tracer in the services', async (t) => {
  const exporter = new InMemorySpanExporter()
  const sts = await startTestService(t, { spanExporter: exporter })
  t.equal(sts.services.tracing, undefined)
  t.equal(sts.services.exchangeObserver, sts.services.metrics.exchanges, 'the metrics alone observe the exchange, unwrapped')
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const form = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await post(sts, form, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` })).statusCode, 200)
  t.same(exporter.getFinishedSpans(), [])
})

t.test('an introspection: a server span in the caller trace, what it answered, never the token', async (t) => {
  const exporter = new InMemorySpanExporter()
  const sts = await startTestService(t, { config: { tracing: { enabled: true } }, spanExporter: exporter })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const form = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  const accessToken = String((await post(sts, form)).body.access_token)
  exporter.reset()
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    payload: new URLSearchParams({ token: accessToken }).toString(),
  })
  t.equal(response.statusCode, 200)
  t.equal(response.json<{ active: boolean }>().active, true)
  await eventually(t, () => exporter.getFinishedSpans().some((span) => span.name === 'sts.introspection'), { what: 'the span' })
  const spans = exporter.getFinishedSpans()
  const span = spans.find((each) => each.name === 'sts.introspection')
  t.equal(span?.kind, SpanKind.SERVER)
  t.equal(span?.spanContext().traceId, TRACE_ID)
  t.equal(span?.parentSpanContext?.spanId, PARENT_ID)
  t.same(span?.attributes, { 'http.response.status_code': 200, 'sts.active': true })
  t.same(span?.status, { code: SpanStatusCode.OK })
  const values = spans.flatMap((each) => Object.values(each.attributes).map(String))
  t.notOk(
    values.some((value) => value.includes(accessToken.split('.')[1] ?? accessToken)),
    'never the token',
  )
})
