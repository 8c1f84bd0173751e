import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import t from 'tap'
import { parse } from 'yaml'
import { z } from 'zod'
import { registerApiDescription } from '../../../src/http/openapi/api-description.js'
import { component, operation, type Operation, type Response } from '../../../src/http/openapi/operation.js'
import { renderYaml } from '../../../src/http/openapi/yaml.js'
import { deref, doc, OPENAPI_YAML, pointer, validate, type Node } from '../../support/openapi-check.js'
import { startTestService } from '../../support/service.js'

/**
 * openapi.yaml is generated from the routes (`npm run openapi`): the committed file is what the app's
 * routes declare, every example in it is valid for its schema, and the generator refuses what would
 * make the document wrong.
 */

t.test('openapi.yaml is what the routes declare: run `npm run openapi` after changing a route', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const generated = renderYaml(sts.app.apiDescription())
  t.equal(readFileSync(OPENAPI_YAML, 'utf8'), generated)
  t.same(parse(generated), sts.app.apiDescription(), 'the YAML says exactly what the document holds')
})

t.test('every schema of the document compiles, and every example is valid for its schema', async (t) => {
  // Compiling resolves every $ref: one to nowhere throws.
  for (const name of Object.keys(doc.components.schemas))
    t.doesNotThrow(() => validate(pointer('components', 'schemas', name), null), `${name} compiles`)
  const examples: [string, string, unknown][] = []
  const visit = (node: Node, at: string[]): void => {
    if (typeof node !== 'object' || node === null) return
    if (node.schema && ('example' in node || 'examples' in node)) {
      if ('example' in node) examples.push([at.join(' '), pointer(...at, 'schema'), node.example])
      for (const [name, example] of Object.entries(node.examples ?? {}))
        examples.push([`${at.join(' ')} ${name}`, pointer(...at, 'schema'), deref(example).value])
    }
    for (const [key, value] of Object.entries(node)) visit(value, [...at, key])
  }
  visit(doc.paths, ['paths'])
  visit(doc.components.responses, ['components', 'responses'])
  t.ok(examples.length >= 40, `the examples were found (${examples.length})`)
  for (const [where, schema, example] of examples) t.same(validate(schema, example), [], where)
})

/** An app with just these routes, described. */
async function describe(routes: { method: 'GET' | 'PUT' | 'DELETE'; url: string; operation?: Operation; role?: 'grants:read' }[]) {
  const app = Fastify()
  registerApiDescription(app)
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: route.role ? { role: route.role } : {},
      schema: route.operation ?? {},
      handler: async () => ({}),
    })
  }
  await app.ready()
  return app.apiDescription()
}

const WidgetId = z.object({ id: z.string().describe('The widget.') })
const answer: Response = { description: 'Done.' }
const widget = (operationId: string, extra: Partial<Operation> = {}): Operation =>
  operation({ tags: ['grants'], operationId, summary: operationId, responses: { 200: answer }, ...extra })

t.test('a route that declares no operation is refused, rather than left out of the document', async (t) => {
  await t.rejects(describe([{ method: 'GET', url: '/v1/widgets' }]), /GET \/v1\/widgets declares no operation/)
})

t.test('a route that gives Fastify a schema to validate or serialize with is refused', async (t) => {
  const app = Fastify()
  registerApiDescription(app)
  app.get('/widgets', { schema: { ...widget('listWidgets'), response: { 200: { type: 'object' } } } }, async () => ({}))
  await app.ready()
  t.throws(() => app.apiDescription(), /GET \/widgets gives Fastify a schema \(response\)/)
})

t.test("an admin route's role is its security requirement, its x-seed-sts-role and the last line of its description", async (t) => {
  const described = await describe([
    { method: 'GET', url: '/v1/widgets', operation: widget('listWidgets', { description: 'All of them.' }), role: 'grants:read' },
    { method: 'GET', url: '/widgets', operation: widget('listPublicWidgets') },
  ])
  t.match(described.paths, {
    '/v1/widgets': {
      get: { description: 'All of them.\n\nRole: `grants:read`.\n', security: [{ adminToken: [] }], 'x-seed-sts-role': 'grants:read' },
    },
    '/widgets': { get: { security: [] } },
  })
  t.notOk('description' in (described.paths as Node)['/widgets'].get, 'no description is made up')
})

t.test('a narrower role that may call a route too is said beside its role', async (t) => {
  const app = Fastify()
  registerApiDescription(app)
  const config = { role: 'grants:read' as const, narrowRole: 'revocations:subscribe' as const }
  app.get('/v1/widgets', { config, schema: widget('listWidgets', { description: 'All of them.' }) }, async () => ({}))
  await app.ready()
  t.match(app.apiDescription().paths, {
    '/v1/widgets': {
      get: {
        description: 'All of them.\n\nRole: `grants:read`, or `revocations:subscribe`, which is answered less.\n',
        security: [{ adminToken: [] }],
        'x-seed-sts-role': 'grants:read',
        'x-seed-sts-narrow-role': 'revocations:subscribe',
      },
    },
  })
})

t.test("path parameters every operation shares are the path's, and a component is declared once and referenced", async (t) => {
  const gone = component<Response>('responses', 'Gone', { description: 'Gone.' })
  const described = (await describe([
    {
      method: 'GET',
      url: '/widgets/:id',
      operation: widget('getWidget', { parameters: { path: WidgetId }, responses: { 200: answer, 410: gone } }),
    },
    {
      method: 'DELETE',
      url: '/widgets/:id',
      operation: widget('deleteWidget', { parameters: { path: WidgetId }, responses: { 200: answer, 410: gone } }),
    },
  ])) as Node
  t.same(described.paths['/widgets/{id}'].parameters, [
    { name: 'id', in: 'path', required: true, description: 'The widget.', schema: { type: 'string' } },
  ])
  t.notOk('parameters' in described.paths['/widgets/{id}'].get)
  t.same(described.paths['/widgets/{id}'].delete.responses['410'], { $ref: '#/components/responses/Gone' })
  t.same(described.components.responses, { Gone: { description: 'Gone.' } })

  const otherGone = component<Response>('responses', 'Gone', { description: 'Gone for good.' })
  await t.rejects(
    describe([
      { method: 'GET', url: '/widgets', operation: widget('a', { responses: { 410: gone } }) },
      { method: 'PUT', url: '/widgets', operation: widget('b', { responses: { 410: otherGone } }) },
    ]),
    /two different responses are named Gone/,
  )
})

t.test('a reference to a component nothing declares, or a tag the base document does not describe, is refused', async (t) => {
  const dangling = z.string().meta({ contentSchema: { $ref: '#/components/schemas/Nowhere' } })
  const listing = widget('listWidgets', { responses: { 200: { description: 'All.', content: { 'text/plain': { schema: dangling } } } } })
  await t.rejects(
    describe([{ method: 'GET', url: '/widgets', operation: listing }]),
    /#\/components\/schemas\/Nowhere is referred to, but nothing declares it/,
  )
  const untagged = { ...widget('listWidgets'), tags: ['widgets'] } as unknown as Operation
  await t.rejects(
    describe([{ method: 'GET', url: '/widgets', operation: untagged }]),
    /GET \/widgets is tagged widgets, which base-document.ts does not describe/,
  )
})

t.test('named zod schemas become components, whatever refers to them', async (t) => {
  const Widget = z.object({ id: z.string(), at: z.iso.datetime().nullable() }).strict().meta({ id: 'Widget', description: 'A widget.' })
  const described = (await describe([
    {
      method: 'GET',
      url: '/widgets',
      operation: widget('listWidgets', {
        responses: { 200: { description: 'All.', content: { 'application/json': { schema: z.object({ widgets: z.array(Widget) }) } } } },
      }),
    },
  ])) as Node
  t.same(described.paths['/widgets'].get.responses['200'].content['application/json'].schema, {
    type: 'object',
    required: ['widgets'],
    properties: { widgets: { type: 'array', items: { $ref: '#/components/schemas/Widget' } } },
  })
  t.same(
    described.components.schemas.Widget,
    {
      description: 'A widget.',
      type: 'object',
      required: ['id', 'at'],
      additionalProperties: false,
      properties: { id: { type: 'string' }, at: { type: ['string', 'null'], format: 'date-time' } },
    },
    "zod's own regex behind a format, and its anyOf with null, are left out",
  )
})
