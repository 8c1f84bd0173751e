import { readFileSync } from 'node:fs'
import type { FastifyInstance, HTTPMethods, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { parse } from 'yaml'

/**
 * Reads openapi.yaml and checks things against it: a small validator for the JSON Schema keywords the
 * document uses, a response-against-operation check, and a comparison with the JSON Schema zod emits.
 */

// A parsed YAML document is untyped by nature; every use is checked by an assertion in the tests.
export type Node = any
export interface Reply {
  statusCode: number
  headers: Record<string, unknown>
  json(): unknown
}

export const doc: Node = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
export const schemas: Node = doc.components.schemas
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** Follows local `$ref`s (`#/components/...`). */
export function deref(node: Node): Node {
  while (node?.$ref) node = (node.$ref as string).slice(2).split('/').reduce((at: Node, key) => at?.[key], doc)
  return node
}

/** The JSON Schema keywords this document uses for responses; answers every problem found. */
export function validate(schemaOrRef: Node, value: unknown, path = '$'): string[] {
  const schema = deref(schemaOrRef)
  const problems: string[] = (schema.allOf ?? []).flatMap((part: Node) => validate(part, value, path))
  if (schema.anyOf && !schema.anyOf.some((part: Node) => validate(part, value, path).length === 0)) problems.push(`${path} matches no anyOf branch`)
  if ('const' in schema && value !== schema.const) problems.push(`${path} is ${JSON.stringify(value)}, not ${JSON.stringify(schema.const)}`)
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path} is ${JSON.stringify(value)}, not one of ${schema.enum.join(', ')}`)
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value
  // JSON Schema's number includes its integers; `type` may list several, such as [string, 'null'].
  const types: string[] | undefined = schema.type === undefined ? undefined : [schema.type].flat()
  if (types && !types.includes(type) && !(types.includes('number') && type === 'integer')) return [...problems, `${path} is ${type}, not ${types.join(' or ')}`]
  if (typeof value === 'string') {
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) problems.push(`${path} is not a date-time`)
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${path} does not match ${schema.pattern}`)
  }
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
export function conforms(t: Test, response: Reply, path: string, method: string): void {
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
export function essentials(schema: Node): Node {
  if (Array.isArray(schema)) return schema.map(essentials)
  if (typeof schema !== 'object' || schema === null) return schema
  // A date-time is described by its format; zod also emits the regex behind it.
  const keys = ESSENTIAL.filter((key) => key in schema && !(key === 'pattern' && 'format' in schema))
  return Object.fromEntries(keys.map((key) => [key, essentials(schema[key])]))
}

/** An object schema of the document accepts what zod's JSON Schema for the same object accepts. */
export function sameObjectSchema(t: Test, name: string, documented: Node, fromZod: Node): void {
  t.same(Object.keys(documented.properties).sort(), Object.keys(fromZod.properties).sort(), `${name}: the same properties`)
  t.same([...documented.required].sort(), [...fromZod.required].sort(), `${name}: the same required properties`)
  t.equal(documented.additionalProperties, fromZod.additionalProperties, `${name}: unknown keys refused`)
  for (const property of Object.keys(fromZod.properties)) {
    t.same(essentials(documented.properties[property]), essentials(fromZod.properties[property]), `${name}.${property}: types and limits`)
  }
}

/** `GET /v1/grants/{id}` for every method and path the app serves (HEAD routes Fastify adds aside). */
export function servedRoutes(t: Test, app: FastifyInstance): string[] {
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

/** Every operation the document lists, as `METHOD /path`, with the operation itself. */
export const documentedOperations: [string, Node][] = Object.entries(doc.paths as Record<string, Node>).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((key) => HTTP_METHODS.includes(key))
    .map((method): [string, Node] => [`${method.toUpperCase()} ${path}`, item[method]]),
)

/** The operations the admin token secures (every `/v1` route), each with its `x-seed-sts-role`. */
export const adminOperations = documentedOperations.filter(([, operation]) => operation.security?.some((s: Node) => 'adminToken' in s))

/** The `$ref` of an operation's JSON request body. */
export function bodyOf(path: string, method: string): string {
  return doc.paths[path][method].requestBody.content['application/json'].schema.$ref
}

/** The query parameters of `GET path` are the properties of the zod query schema its handler parses. */
export function sameQuery(t: Test, path: string, fromZod: Node): void {
  const parameters: Node[] = doc.paths[path].get.parameters.filter((p: Node) => p.in === 'query')
  t.same(parameters.map((p) => p.name).sort(), Object.keys(fromZod.properties).sort(), `GET ${path}: the query parameters`)
  for (const p of parameters) t.same(essentials(p.schema), essentials(fromZod.properties[p.name]), `GET ${path} query ${p.name}: types and limits`)
}

/** Sends a request and checks it is answered with `status`, as the operation at `path` documents. */
export async function expectAnswer(t: Test, app: FastifyInstance, request: InjectOptions, status: number, path: string): Promise<LightMyRequestResponse> {
  const response = await app.inject(request)
  const method = String(request.method ?? 'GET').toLowerCase()
  t.equal(response.statusCode, status, `${method.toUpperCase()} ${request.url} answers ${status}`)
  conforms(t, response, path, method)
  return response
}
