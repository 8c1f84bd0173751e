import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { parse } from 'yaml'

/**
 * Reads openapi.yaml (which test/http/openapi/api-description.test.ts keeps equal to what the routes
 * declare) and checks real answers against it, with Ajv's JSON Schema 2020-12 validator and formats.
 */

// A parsed YAML document is untyped by nature; every use is checked by an assertion in the tests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = any
export interface Reply {
  statusCode: number
  headers: Record<string, unknown>
  /** The body as sent: what an answer documented without content is checked on. */
  body?: string
  json(): unknown
}

export const OPENAPI_YAML = new URL('../../openapi.yaml', import.meta.url)
export const doc: Node = parse(readFileSync(OPENAPI_YAML, 'utf8'))
export const schemas: Node = doc.components.schemas
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch']

// ajv-formats is CommonJS: its function is the module itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default
// OpenAPI's own keywords (example, x-seed-sts-*) are not JSON Schema's: not strict about them.
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addSchema(doc, 'openapi.yaml')

/** A JSON pointer into the document, from its segments. */
export function pointer(...segments: string[]): string {
  return `#/${segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`
}

/** Follows local `$ref`s (`#/components/...`). */
export function deref(node: Node): Node {
  while (node?.$ref)
    node = (node.$ref as string)
      .slice(2)
      .split('/')
      .reduce((at: Node, key) => at?.[key], doc)
  return node
}

const validators = new Map<string, ValidateFunction>()

/** Every way `value` fails the schema at `at` (a pointer into the document), as `path message` lines. */
export function validate(at: string, value: unknown): string[] {
  let check = validators.get(at)
  if (!check) {
    check = ajv.compile({ $ref: `openapi.yaml${at}` })
    validators.set(at, check)
  }
  return check(value) ? [] : (check.errors ?? []).map((error) => `${error.instancePath || '$'} ${error.message ?? error.keyword}`)
}

/** The schema named `name` in the document's components. */
export function schemaOf(name: string): string {
  return pointer('components', 'schemas', name)
}

/** Checks a real response against what the document says that operation answers with that status. */
export function conforms(t: Test, response: Reply, path: string, method: string): void {
  const operation = doc.paths[path]?.[method]
  const what = `${method.toUpperCase()} ${path} ${response.statusCode}`
  const listed = operation?.responses[response.statusCode]
  if (!listed) return void t.fail(`${what} is not documented`)
  // A response declared once is checked where it is declared.
  const at = listed.$ref
    ? (listed.$ref as string).slice(1).split('/').slice(1)
    : ['paths', path, method, 'responses', String(response.statusCode)]
  const documented = deref(listed)
  if (documented.content === undefined) {
    // Documented without content (RFC 7009's 200): there must be none.
    t.equal(response.body, '', `${what} has no body, as documented`)
  } else {
    const [mediaType] = Object.keys(documented.content as Record<string, Node>)
    t.ok(String(response.headers['content-type']).startsWith(mediaType), `${what} is ${mediaType}`)
    t.same(validate(pointer(...at, 'content', mediaType, 'schema'), response.json()), [], `${what} matches its schema`)
  }
  for (const [name, header] of Object.entries(documented.headers ?? {}).map(([n, h]) => [n.toLowerCase(), deref(h)] as const)) {
    if (header.required) t.not(response.headers[name], undefined, `${what} sends ${name}`)
    if (header.schema?.const !== undefined) t.equal(response.headers[name], header.schema.const, `${what} ${name}`)
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
    stack.length = match[1].length / 4
    stack.push(match[2])
    for (const method of match[3]?.split(', ') ?? []) {
      if (method === 'HEAD') continue
      // A parameter begins a segment (`/:id`); any other colon is literal (`/v1/grants:validate`), `::` to Fastify.
      const path = stack.join('')
      t.ok(app.hasRoute({ method: method, url: path.replace(/(?<!\/):/g, '::') }), `${method} ${path} read from printRoutes is served`)
      routes.push(`${method} ${path.replace(/\/:(\w+)/g, '/{$1}')}`)
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

/** Sends a request and checks it is answered with `status`, as the operation at `path` documents. */
export async function expectAnswer(
  t: Test,
  app: FastifyInstance,
  request: InjectOptions,
  status: number,
  path: string,
): Promise<LightMyRequestResponse> {
  const response = await app.inject(request)
  const method = String(request.method ?? 'GET').toLowerCase()
  t.equal(response.statusCode, status, `${method.toUpperCase()} ${request.url} answers ${status}`)
  conforms(t, response, path, method)
  return response
}
