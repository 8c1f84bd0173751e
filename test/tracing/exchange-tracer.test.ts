import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import t from 'tap'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { ExchangeTracer } from '../../src/tracing/exchange-tracer.js'
import { SpanScope } from '../../src/tracing/span-scope.js'
import { firstKeyword, tracedDatabase } from '../../src/tracing/traced-database.js'

/** The tracer alone: what the HTTP tests cannot reach cheaply (a 503, a failing statement). */

function tracing() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { exporter, tracer: provider.getTracer('test'), scope: new SpanScope() }
}

t.test('a store that could not answer: the exchange and the phase it failed in are errors', async (t) => {
  const { exporter, tracer, scope } = tracing()
  const observation = new ExchangeTracer(tracer, scope).begin({})
  observation.phaseStarted('attest')
  observation.phaseEnded('attest')
  observation.phaseStarted('revocation_check')
  observation.finished({ outcome: 'unavailable', error: 'temporarily_unavailable', reason: 'revocations_stale' })
  const spans = Object.fromEntries(exporter.getFinishedSpans().map((span) => [span.name, span]))
  t.same(Object.keys(spans).sort(), ['sts.attest', 'sts.revocation_check', 'sts.token_exchange'])
  const failed = { code: SpanStatusCode.ERROR, message: 'temporarily_unavailable: revocations_stale' }
  t.same(spans['sts.revocation_check']?.status, failed, 'the phase still open is the one that failed')
  t.same(spans['sts.attest']?.status, { code: SpanStatusCode.UNSET }, 'a phase that ended is not blamed')
  t.same(spans['sts.token_exchange']?.status, failed)
  t.same(spans['sts.token_exchange']?.attributes, {
    'sts.outcome': 'unavailable',
    'oauth.error': 'temporarily_unavailable',
    'sts.reason': 'revocations_stale',
  })
})

t.test('a malformed traceparent is ignored: the exchange starts its own trace', async (t) => {
  const { exporter, tracer, scope } = tracing()
  new ExchangeTracer(tracer, scope)
    .begin({ traceparent: '00-not-a-trace-01' })
    .finished({ outcome: 'refused', error: 'invalid_request', reason: 'request_invalid' })
  const [span] = exporter.getFinishedSpans()
  t.equal(span?.parentSpanContext, undefined)
  t.match(span?.spanContext().traceId, /^[0-9a-f]{32}$/)
})

t.test('database statements: a span in a phase, the first keyword only; none outside an exchange', async (t) => {
  const { exporter, tracer, scope } = tracing()
  const database = tracedDatabase(await createPGliteDatabase(undefined), tracer, scope)
  t.teardown(() => database.close())
  await database.query('SELECT $1::text AS secret', ['outside'])
  t.same(exporter.getFinishedSpans(), [], 'no exchange, no span')

  const observation = new ExchangeTracer(tracer, scope).begin()
  observation.phaseStarted('ledger_commit')
  const phase = trace.getSpan(scope.current() ?? ROOT_CONTEXT)
  await database.query('  -- why\n select $1::text AS secret', ['hunter2'])
  await database.transaction((tx) => tx.query('INSERT INTO nowhere VALUES ($1)', ['hunter2'])).catch(() => {})
  observation.phaseEnded('ledger_commit')
  const queries = exporter.getFinishedSpans().filter((span) => span.name === 'db.query')
  t.same(
    queries.map((span) => [span.attributes['db.operation.name'], span.status, span.parentSpanContext?.spanId]),
    [
      ['SELECT', { code: SpanStatusCode.UNSET }, phase?.spanContext().spanId],
      ['INSERT', { code: SpanStatusCode.ERROR, message: 'SQLSTATE 42P01' }, phase?.spanContext().spanId],
    ],
  )
  t.notOk(JSON.stringify(queries.map((span) => [span.attributes, span.status])).includes('hunter2'), 'never a parameter')
})

t.test('the first keyword of a statement', async (t) => {
  t.equal(firstKeyword('insert into ledger values ($1)'), 'INSERT')
  t.equal(firstKeyword('/* a note */ WITH x AS (SELECT 1) SELECT * FROM x'), 'SELECT', 'a WITH: the statement its CTEs belong to')
  t.equal(
    firstKeyword(`WITH batch AS (INSERT INTO b VALUES ('(', ')', 'select')) , "update" AS (DELETE FROM c) INSERT INTO ledger SELECT 1`),
    'INSERT',
    'the CTEs (data-modifying ones too, strings and quoted names in them) skipped',
  )
  t.equal(firstKeyword('WITH'), 'WITH', 'nothing after it: the keyword itself')
  t.equal(firstKeyword('-- only a comment'), 'OTHER')
  t.equal(firstKeyword(''), 'OTHER')
})
