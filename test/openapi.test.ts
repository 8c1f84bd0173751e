import { readFileSync } from 'node:fs'
import type { FastifyInstance, HTTPMethods, InjectOptions } from 'fastify'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { z } from 'zod'
import { SUPPORTED_REQUESTED_TOKEN_TYPES, SUPPORTED_SUBJECT_TOKEN_TYPES, TOKEN_EXCHANGE_GRANT, TokenExchangeRequest } from '../src/exchange/token-request.js'
import { GrantInput, GrantListQuery } from '../src/grants/grant.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from './helpers/service.js'

/**
 * Keeps openapi.yaml true: the routes it lists are the routes the app serves, its request schemas
 * are the zod schemas the handlers validate with, and real responses validate against it.
 */

// A parsed YAML document is untyped by nature; every use below is checked by an assertion.
type Node = any
interface Reply {
  statusCode: number
  headers: Record<string, unknown>
  json(): unknown
}

const doc: Node = parse(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8'))
const schemas: Node = doc.components.schemas
const tokenForm: Node = doc.paths['/oauth2/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** Follows local `$ref`s (`#/components/...`). */
function deref(node: Node): Node {
  while (node?.$ref) node = (node.$ref as string).slice(2).split('/').reduce((at: Node, key) => at?.[key], doc)
  return node
}

/** The JSON Schema keywords this document uses for responses; answers every problem found. */
function validate(schemaOrRef: Node, value: unknown, path = '$'): string[] {
  const schema = deref(schemaOrRef)
  const problems: string[] = (schema.allOf ?? []).flatMap((part: Node) => validate(part, value, path))
  if (schema.anyOf && !schema.anyOf.some((part: Node) => validate(part, value, path).length === 0)) problems.push(`${path} matches no anyOf branch`)
  if ('const' in schema && value !== schema.const) problems.push(`${path} is ${JSON.stringify(value)}, not ${JSON.stringify(schema.const)}`)
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path} is ${JSON.stringify(value)}, not one of ${schema.enum.join(', ')}`)
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value
  if (schema.type && schema.type !== type) return [...problems, `${path} is ${type}, not ${schema.type}`]
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value as string))) problems.push(`${path} is not a date-time`)
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...validate(schema.items, item, `${path}[${i}]`)))
  if (type === 'object') {
    const object = value as Record<string, unknown>
    for (const key of schema.required ?? []) if (!(key in object)) problems.push(`${path}.${key} is missing`)
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key] ?? (schema.allOf ? undefined : schema.additionalProperties)
      if (property === false) problems.push(`${path}.${key} is not documented`)
      else if (typeof property === 'object') problems.push(...validate(property, item, `${path}.${key}`))
    }
  }
  return problems
}

/** Checks a real response against what the document says that operation answers with that status. */
function conforms(t: Test, response: Reply, path: string, method: string): void {
  const documented = deref(doc.paths[path]?.[method]?.responses[response.statusCode])
  const what = `${method.toUpperCase()} ${path} ${response.statusCode}`
  if (!documented) return void t.fail(`${what} is not documented`)
  const [mediaType, content] = Object.entries(documented.content as Record<string, Node>)[0]!
  t.ok(String(response.headers['content-type']).startsWith(mediaType), `${what} is ${mediaType}`)
  t.same(validate(content.schema, response.json()), [], `${what} matches its schema`)
  for (const [name, header] of Object.entries(documented.headers ?? {}).map(([n, h]) => [n.toLowerCase(), deref(h)] as const)) {
    if (header.required) t.not(response.headers[name], undefined, `${what} sends ${name}`)
    if (header.schema?.const !== undefined) t.equal(response.headers[name], header.schema.const, `${what} ${name}`)
  }
}

/** The keywords that make two JSON Schemas accept the same values (descriptions and examples aside). */
const ESSENTIAL = ['type', 'enum', 'const', 'default', 'format', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'items', 'propertyNames', 'additionalProperties', 'anyOf']
function essentials(schema: Node): Node {
  if (Array.isArray(schema)) return schema.map(essentials)
  if (typeof schema !== 'object' || schema === null) return schema
  // A date-time is described by its format; zod also emits the regex behind it.
  const keys = ESSENTIAL.filter((key) => key in schema && !(key === 'pattern' && 'format' in schema))
  return Object.fromEntries(keys.map((key) => [key, essentials(schema[key])]))
}

/** `GET /v1/grants/{id}` for every method and path the app serves (HEAD routes Fastify adds aside). */
function servedRoutes(t: Test, app: FastifyInstance): string[] {
  // printRoutes draws a tree, four columns per level; a child's segment continues its parent's path.
  const routes: string[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    stack.length = match[1]!.length / 4
    stack.push(match[2]!)
    for (const method of match[3]?.split(', ') ?? []) {
      if (method === 'HEAD') continue
      t.ok(app.hasRoute({ method: method as HTTPMethods, url: stack.join('') }), `${method} ${stack.join('')} read from printRoutes is served`)
      routes.push(`${method} ${stack.join('').replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  return routes.sort()
}

const documentedRoutes = Object.entries(doc.paths as Record<string, Node>)
  .flatMap(([path, item]) => Object.keys(item).filter((key) => HTTP_METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${path}`))
  .sort()

const form = (params: Record<string, string>): InjectOptions => ({
  method: 'POST',
  url: '/oauth2/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(params).toString(),
})

async function validRequest(sts: TestService): Promise<Record<string, string>> {
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  return { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE, audience: 'ledger-api' }
}

t.test('the hand-written validator refuses what does not match', async (t) => {
  const problem = { type: 'about:blank', title: 'Not found', status: 404, detail: 'no grant', instance: '/v1/grants/x' }
  t.same(validate(schemas.Problem, problem), [])
  t.same(validate(schemas.Problem, { ...problem, status: '404', extra: 1 }), ['$.status is string, not integer', '$.extra is not documented'])
  t.same(validate(schemas.TokenErrorUnavailable, { error: 'invalid_grant', error_description: 'x' }), ['$.error is "invalid_grant", not "temporarily_unavailable"'])
})

t.test('every $ref in the document resolves', async (t) => {
  const refs: string[] = []
  const walk = (node: Node): void => {
    if (typeof node !== 'object' || node === null) return
    if (typeof node.$ref === 'string') refs.push(node.$ref)
    Object.values(node).forEach(walk)
  }
  walk(doc)
  t.ok(refs.length > 20, 'the document uses $refs')
  t.same(refs.filter((ref) => deref({ $ref: ref }) === undefined), [])
})

t.test('GrantInput and the grant query are the zod schemas the handlers validate with', async (t) => {
  const zodInput = z.toJSONSchema(GrantInput, { io: 'input' }) as Node
  const documented = schemas.GrantInput
  t.same(Object.keys(documented.properties).sort(), Object.keys(zodInput.properties).sort(), 'the same properties')
  t.same([...documented.required].sort(), [...zodInput.required].sort(), 'the same required properties')
  t.equal(documented.additionalProperties, zodInput.additionalProperties, 'unknown keys refused')
  for (const name of Object.keys(zodInput.properties)) {
    t.same(essentials(documented.properties[name]), essentials(zodInput.properties[name]), `GrantInput.${name}: types and limits`)
  }

  const grant = schemas.Grant
  const stored = ['id', 'version', 'createdAt', 'updatedAt']
  t.same(Object.keys(grant.properties).sort(), [...Object.keys(zodInput.properties), ...stored].sort(), 'Grant is the input plus what the store adds')
  t.same([...grant.required].sort(), Object.keys(grant.properties).sort(), 'every Grant property is always present')
  for (const name of Object.keys(zodInput.properties)) t.equal(grant.properties[name].type, zodInput.properties[name].type, `Grant.${name} type`)

  const zodQuery = z.toJSONSchema(GrantListQuery, { io: 'input' }) as Node
  const parameters: Node[] = doc.paths['/v1/grants'].get.parameters
  t.same(parameters.map((p) => p.name).sort(), Object.keys(zodQuery.properties).sort(), 'the list query parameters')
  for (const p of parameters) t.same(essentials(p.schema), essentials(zodQuery.properties[p.name]), `query ${p.name}`)
})

t.test('the token request parameters are the ones parsed', async (t) => {
  const zodRequest = z.toJSONSchema(TokenExchangeRequest, { io: 'input' }) as Node
  const properties = Object.entries(tokenForm.properties as Record<string, Node>)
  const accepted = properties.filter(([, s]) => !s['x-seed-sts-ignored'] && !s['x-seed-sts-refused-with']).map(([name]) => name)
  t.same(accepted.sort(), ['grant_type', ...Object.keys(TokenExchangeRequest.shape)].sort())
  t.same([...tokenForm.required].sort(), ['grant_type', ...zodRequest.required].sort())
  for (const name of Object.keys(TokenExchangeRequest.shape)) {
    t.same(essentials(tokenForm.properties[name]), essentials(zodRequest.properties[name]), `${name}: types and limits`)
  }
  t.equal(tokenForm.properties.grant_type.const, TOKEN_EXCHANGE_GRANT)
  t.same(tokenForm.properties.subject_token_type.enum, SUPPORTED_SUBJECT_TOKEN_TYPES)
  t.same(tokenForm.properties.requested_token_type.enum, SUPPORTED_REQUESTED_TOKEN_TYPES)
  t.same(properties.filter(([, s]) => s['x-seed-sts-ignored']).map(([name]) => name), ['client_id'])
  t.same(properties.filter(([, s]) => s['x-seed-sts-refused-with']).map(([name]) => name).sort(), ['actor_token', 'actor_token_type', 'resource'])
})

t.test('the routes served are the routes documented, and real responses match', async (t) => {
  const sts = await startTestService(t)
  const { app, admin } = sts
  const served = servedRoutes(t, app)
  t.ok(served.length >= 10, 'printRoutes was understood')
  t.same(served, documentedRoutes, 'every route is documented and every documented route is served')

  for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    conforms(t, await app.inject({ method: 'GET', url: path }), path, 'get')
  }

  const request = await validRequest(sts)
  const exchanged = await app.inject(form({ ...request, client_id: 'ignored-by-the-server' }))
  t.equal(exchanged.statusCode, 200, 'client_id is accepted and ignored')
  conforms(t, exchanged, '/oauth2/token', 'post')
  const token = (exchanged.json() as { access_token: string }).access_token
  t.same(validate(schemas.AccessTokenHeader, decodeProtectedHeader(token)), [], 'the JWT header is as documented')
  t.same(validate(schemas.AccessTokenClaims, decodeJwt(token)), [], 'the JWT claims are as documented')

  const body = { subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/billing/sa/*`, audiences: ['ledger-api'], owner: 'team-billing' }
  const created = await app.inject({ method: 'POST', url: '/v1/grants', headers: admin, payload: body })
  conforms(t, created, '/v1/grants', 'post')
  const url = created.headers.location as string
  const read = await app.inject({ method: 'GET', url, headers: admin })
  conforms(t, read, '/v1/grants/{id}', 'get')
  t.same(read.json(), created.json())

  const page = await app.inject({ method: 'GET', url: '/v1/grants?limit=1', headers: admin })
  conforms(t, page, '/v1/grants', 'get')
  const first = page.json() as { grants: { id: string }[]; nextCursor?: string }
  t.type(first.nextCursor, 'string', 'a first page of two grants has a nextCursor')
  const last = await app.inject({ method: 'GET', url: `/v1/grants?limit=1&cursor=${first.nextCursor}`, headers: admin })
  conforms(t, last, '/v1/grants', 'get')
  const second = last.json() as { grants: { id: string }[]; nextCursor?: string }
  t.equal(second.nextCursor, undefined, 'the last page has no nextCursor')
  t.equal(new Set([...first.grants, ...second.grants].map((g) => g.id)).size, 2, 'the pages hold both grants')
  const filtered = await app.inject({ method: 'GET', url: `/v1/grants?owner=team-billing&subject=${encodeURIComponent(body.subject)}`, headers: admin })
  t.same(filtered.json(), { grants: [created.json()] }, 'owner and subject filter')

  const put = (headers: Record<string, string>) => app.inject({ method: 'PUT', url, headers: { ...admin, ...headers }, payload: { ...body, enabled: false } })
  conforms(t, await put({}), '/v1/grants/{id}', 'put')
  const replaced = await put({ 'if-match': read.headers.etag as string })
  conforms(t, replaced, '/v1/grants/{id}', 'put')
  t.equal(replaced.headers.etag, '"2"')
  const stale = await put({ 'if-match': read.headers.etag as string })
  t.equal(stale.statusCode, 412)
  conforms(t, stale, '/v1/grants/{id}', 'put')
  const invalid = await app.inject({ method: 'POST', url: '/v1/grants', headers: admin, payload: { ...body, audiences: [] } })
  t.equal(invalid.statusCode, 400)
  conforms(t, invalid, '/v1/grants', 'post')

  const disabled = await app.inject({ method: 'DELETE', url, headers: admin })
  conforms(t, disabled, '/v1/grants/{id}', 'delete')
  t.equal((disabled.json() as { enabled: boolean }).enabled, false, 'DELETE disables and returns the grant')
  const unknown = await app.inject({ method: 'GET', url: '/v1/grants/0b8f3c2e-0000-4000-8000-000000000000', headers: admin })
  t.equal(unknown.statusCode, 404)
  conforms(t, unknown, '/v1/grants/{id}', 'get')
  const anonymous = await app.inject({ method: 'GET', url: '/v1/grants' })
  t.equal(anonymous.statusCode, 401)
  conforms(t, anonymous, '/v1/grants', 'get')
})

t.test('each token error comes with the status documented for it', async (t) => {
  const refused = Object.entries(tokenForm.properties as Record<string, Node>).filter(([, s]) => s['x-seed-sts-refused-with'])
  const cases: [string, (valid: Record<string, string>) => InjectOptions][] = [
    ['invalid_request', ({ subject_token_type: _, ...rest }) => form(rest)],
    ['invalid_request', (valid) => ({ method: 'POST', url: '/oauth2/token', payload: valid })],
    ['invalid_request', (valid) => form({ ...valid, padding: 'x'.repeat(70_000) })],
    ['invalid_grant', (valid) => form({ ...valid, subject_token: 'not-a-jwt' })],
    ['invalid_scope', (valid) => form({ ...valid, scope: 'ledger:admin' })],
    ['invalid_target', (valid) => form({ ...valid, audience: 'billing-api' })],
    ['unsupported_grant_type', (valid) => form({ ...valid, grant_type: 'client_credentials' })],
    ...refused.map(([name, s]): (typeof cases)[number] => [s['x-seed-sts-refused-with'], (valid) => form({ ...valid, [name]: 'x' })]),
  ]
  // Allow exactly these requests this minute, so the next one shows the rate limit's answer.
  const sts = await startTestService(t, { config: { limits: { tokenRequestsPerMinute: cases.length } } })
  const valid = await validRequest(sts)
  for (const [code, request] of cases) {
    const response = await sts.app.inject(request(valid))
    t.equal((response.json() as { error: string }).error, code, `${code} (${response.statusCode})`)
    conforms(t, response, '/oauth2/token', 'post')
  }
  const limited = await sts.app.inject(form(valid))
  t.equal(limited.statusCode, 429)
  conforms(t, limited, '/oauth2/token', 'post')
})
