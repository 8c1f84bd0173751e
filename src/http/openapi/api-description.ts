import type { FastifyInstance } from 'fastify'
import type { z } from 'zod'
import type { AdminRole } from '../../admin-tokens/admin-token.js'
import { ADMIN_TOKEN_SCHEME, API_INFO, API_SECURITY_SCHEMES, API_SERVERS, API_TAGS, UNREFERENCED_SCHEMAS } from './base-document.js'
import { convertSchema, type JsonObject, type JsonValue } from './json-schema.js'
import {
  Component,
  type ComponentKind,
  type Example,
  type Header,
  type Media,
  type Operation,
  type Parameters,
  type Response,
} from './operation.js'

/** A route as registered, with the operation it declares in its `schema`. */
export interface DocumentedRoute {
  method: string
  url: string
  operation: Operation | undefined
  role: AdminRole | undefined
  /** A narrower role that may call it too, and is answered less (admin-scope.ts). */
  narrowRole?: AdminRole
  /** The schema keys Fastify itself would compile, which no route may use (see operation.ts). */
  fastifyKeys: string[]
}

const FASTIFY_SCHEMA_KEYS = ['body', 'querystring', 'query', 'params', 'headers', 'response']

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document of every route registered (openapi.yaml is this, written out by `npm run openapi`). */
    apiDescription(): JsonObject
  }
}

/**
 * Records every route as it is registered, to describe the API from the routes themselves. Call it
 * on the root instance before any route is registered. Costs nothing per request: the document is
 * made only when asked for (by `npm run openapi` and the tests), never while serving.
 */
export function registerApiDescription(app: FastifyInstance): void {
  const routes: DocumentedRoute[] = []
  app.addHook('onRoute', (route) => {
    const operation = route.schema?.operationId === undefined ? undefined : (route.schema as Operation)
    const fastifyKeys = Object.keys(route.schema ?? {}).filter((key) => FASTIFY_SCHEMA_KEYS.includes(key))
    const { role, narrowRole } = route.config ?? {}
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, operation, role, narrowRole, fastifyKeys })
  })
  app.decorate('apiDescription', () => describeApi(routes))
}

/**
 * The OpenAPI 3.1 document of `routes`. Every route must declare its operation (Fastify's own HEAD
 * routes aside): an undocumented route is a defect, refused here rather than left out of the document.
 */
export function describeApi(routes: readonly DocumentedRoute[]): JsonObject {
  const components = new Components()
  const paths = new Map<string, { tag: number; operations: [string, JsonObject][] }>()
  for (const route of routes.filter((r) => r.method !== 'HEAD')) {
    const { operation } = route
    const what = `${route.method} ${route.url}`
    if (!operation) throw new Error(`${what} declares no operation: document it in its schema (see src/http/openapi/operation.ts)`)
    // Fastify would validate (in its own order, with its own errors) or serialize with these: the
    // handlers validate, and responses are serialized as they always were (see operation.ts).
    if (route.fastifyKeys.length > 0)
      throw new Error(`${what} gives Fastify a schema (${route.fastifyKeys.join(', ')}): declare it in the operation instead`)
    const tag = API_TAGS.findIndex((t) => t.name === operation.tags[0])
    if (tag < 0) throw new Error(`${what} is tagged ${operation.tags[0]}, which base-document.ts does not describe`)
    // `::` is Fastify's escape for a literal colon (`/v1/grants::validate`, a custom method in the AIP-136 style).
    const path = route.url.replace(/(?<!:):(\w+)/g, '{$1}').replaceAll('::', ':')
    const item = paths.get(path) ?? { tag, operations: [] }
    item.operations.push([route.method.toLowerCase(), describeOperation(operation, route, components)])
    paths.set(path, item)
  }
  const byTagThenPath = [...paths].sort(([a, x], [b, y]) => (x.tag !== y.tag ? x.tag - y.tag : a < b ? -1 : a > b ? 1 : 0))
  const document: JsonObject = {
    openapi: '3.1.0',
    info: API_INFO,
    servers: API_SERVERS,
    tags: API_TAGS,
    paths: Object.fromEntries(byTagThenPath.map(([path, item]) => [path, pathItem(item.operations)])),
  }
  for (const schema of UNREFERENCED_SCHEMAS) components.schema(schema)
  document.components = { securitySchemes: API_SECURITY_SCHEMES, ...components.used(document) }
  return document
}

function describeOperation(operation: Operation, roles: Pick<DocumentedRoute, 'role' | 'narrowRole'>, components: Components): JsonObject {
  const { role, narrowRole } = roles
  const described: JsonObject = {
    tags: operation.tags,
    operationId: operation.operationId,
    summary: operation.summary,
  }
  // The admin scope authenticates and checks the route's role (admin-scope.ts): said here, once, for every operation.
  const roleLine = narrowRole === undefined ? `Role: \`${role}\`.` : `Role: \`${role}\`, or \`${narrowRole}\`, which is answered less.`
  const description = role === undefined ? operation.description : `${paragraph(operation.description)}${roleLine}\n`
  if (description !== undefined) described.description = description
  described.security = role === undefined ? [] : [{ [ADMIN_TOKEN_SCHEME]: [] }]
  if (role !== undefined) described['x-seed-sts-role'] = role
  if (role !== undefined && narrowRole !== undefined) described['x-seed-sts-narrow-role'] = narrowRole
  const parameters = describeParameters(operation.parameters, components)
  if (parameters.length > 0) described.parameters = parameters
  if (operation.requestBody) {
    const { mediaType, ...media } = operation.requestBody
    described.requestBody = { required: true, content: { [mediaType]: describeMedia(media, components) } }
  }
  described.responses = Object.fromEntries(
    Object.entries(operation.responses).map(([status, response]) => [
      status,
      components.ref(response, (r) => describeResponse(r, components)),
    ]),
  )
  return described
}

/** A description that ends in a blank line, so that what follows is a paragraph of its own. */
function paragraph(text: string | undefined): string {
  if (text === undefined) return ''
  return text.endsWith('\n') ? `${text}\n` : `${text}\n\n`
}

function describeParameters(parameters: Parameters | undefined, components: Components): JsonObject[] {
  const where = ['path', 'query', 'header'] as const
  return where.flatMap((place) => {
    const object = parameters?.[place]
    if (!object) return []
    const { schema } = components.convert(object)
    const required = new Set((schema.required ?? []) as string[])
    return Object.entries((schema.properties ?? {}) as Record<string, JsonObject>).map(([name, { description, ...property }]) => ({
      name,
      in: place,
      ...(place === 'path' || required.has(name) ? { required: true } : {}),
      ...(description === undefined ? {} : { description }),
      schema: property,
    }))
  })
}

function describeResponse(response: Response, components: Components): JsonObject {
  const described: JsonObject = { description: response.description }
  if (response.headers) {
    described.headers = Object.fromEntries(
      Object.entries(response.headers).map(([name, header]) => [name, components.ref(header, (h) => describeHeader(h, components))]),
    )
  }
  if (response.content) {
    described.content = Object.fromEntries(
      Object.entries(response.content).map(([mediaType, media]) => [mediaType, describeMedia(media, components)]),
    )
  }
  return described
}

function describeHeader(header: Header, components: Components): JsonObject {
  return {
    ...(header.description === undefined ? {} : { description: header.description }),
    ...(header.required ? { required: true } : {}),
    schema: components.convert(header.schema).schema,
  }
}

function describeMedia(media: Media, components: Components): JsonObject {
  return {
    schema: components.convert(media.schema).schema,
    ...(media.example === undefined ? {} : { example: media.example as JsonValue }),
    ...(media.examples === undefined
      ? {}
      : {
          examples: Object.fromEntries(
            Object.entries(media.examples).map(([name, example]) => [name, components.ref(example, describeExample)]),
          ),
        }),
  }
}

function describeExample(example: Example): JsonObject {
  return { ...(example.summary === undefined ? {} : { summary: example.summary }), value: example.value as JsonValue }
}

/** Path parameters every operation of a path shares are said once, for the path. */
function pathItem(operations: [string, JsonObject][]): JsonObject {
  const pathParameters = (operation: JsonObject) => ((operation.parameters ?? []) as JsonObject[]).filter((p) => p.in === 'path')
  const shared = pathParameters(operations[0][1])
  const allShare = operations.every(([, operation]) => JSON.stringify(pathParameters(operation)) === JSON.stringify(shared))
  if (shared.length === 0 || !allShare) return Object.fromEntries(operations)
  const withoutShared = operations.map(([method, { parameters, ...operation }]): [string, JsonObject] => {
    const own = (parameters as JsonObject[]).filter((p) => p.in !== 'path')
    return [method, own.length === 0 ? operation : withParameters(operation, own)]
  })
  return { parameters: shared, ...Object.fromEntries(withoutShared) }
}

/** `parameters` back in its place, before `requestBody` and `responses`. */
function withParameters(operation: JsonObject, parameters: JsonObject[]): JsonObject {
  const { requestBody, responses, ...head } = operation
  return { ...head, parameters, ...(requestBody === undefined ? {} : { requestBody }), ...(responses === undefined ? {} : { responses }) }
}

/** The named parts of the document: what operations refer to by `$ref`, each declared once. */
class Components {
  private readonly declared: Record<ComponentKind | 'schemas', Map<string, JsonObject>> = {
    responses: new Map(),
    headers: new Map(),
    examples: new Map(),
    schemas: new Map(),
  }
  private readonly sources = new Map<string, unknown>()

  /** A component as a `$ref` (declared the first time it is seen); anything else as itself. */
  ref<T>(part: T | Component<T>, describe: (value: T) => JsonObject): JsonObject {
    if (!(part instanceof Component)) return describe(part)
    this.declare(part.kind, part.name, part, () => describe(part.value))
    return { $ref: `#/components/${part.kind}/${part.name}` }
  }

  /** A zod schema as JSON Schema; the named schemas it refers to become components. */
  convert(schema: z.ZodType): { schema: JsonObject } {
    const converted = convertSchema(schema)
    for (const [id, named] of converted.named) this.declareSchema(id, named)
    return converted
  }

  /** A named schema that nothing refers to, documented for the clients that read it. */
  schema(schema: z.ZodType): void {
    this.convert(schema)
  }

  /** The components `document` refers to, directly or through one another, in the order first referred to. */
  used(document: JsonObject): JsonObject {
    const seen: Record<string, string[]> = { headers: [], responses: [], examples: [], schemas: [] }
    const visit = (node: JsonValue): void => {
      if (Array.isArray(node)) return node.forEach(visit)
      if (typeof node !== 'object' || node === null) return
      const ref = typeof node.$ref === 'string' ? /^#\/components\/(\w+)\/(\w+)$/.exec(node.$ref) : null
      if (ref && !seen[ref[1]].includes(ref[2])) {
        const component = this.declared[ref[1] as ComponentKind | 'schemas'].get(ref[2])
        if (!component) throw new Error(`${ref[0]} is referred to, but nothing declares it`)
        seen[ref[1]].push(ref[2])
        visit(component)
      }
      Object.values(node).forEach(visit)
    }
    visit(document)
    for (const name of this.declared.schemas.keys()) if (!seen.schemas.includes(name)) visit({ $ref: `#/components/schemas/${name}` })
    const kinds = (['headers', 'responses', 'examples', 'schemas'] as const).filter((kind) => seen[kind].length > 0)
    return Object.fromEntries(
      kinds.map((kind) => [kind, Object.fromEntries(seen[kind].map((name) => [name, this.declared[kind].get(name)!]))]),
    )
  }

  private declare(kind: ComponentKind, name: string, source: unknown, describe: () => JsonObject): void {
    const key = `${kind}/${name}`
    const known = this.sources.get(key)
    if (known === source) return
    if (known !== undefined) throw new Error(`two different ${kind} are named ${name}: a component name is declared once`)
    this.sources.set(key, source)
    this.declared[kind].set(name, describe())
  }

  private declareSchema(id: string, schema: JsonObject): void {
    const known = this.declared.schemas.get(id)
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(schema)) throw new Error(`two different schemas have the id ${id}`)
    this.declared.schemas.set(id, schema)
  }
}
