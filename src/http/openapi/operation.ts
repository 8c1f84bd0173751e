import type { z } from 'zod'

/**
 * How a route documents itself: its OpenAPI operation, declared in the route's `schema` next to the
 * route (each route file has its `*-operations.ts` beside it). src/http/openapi/api-description.ts
 * turns the routes' operations into openapi.yaml; nothing else is written by hand but the base
 * document (base-document.ts) and the parts many routes share (src/http/problem-responses.ts,
 * response-headers.ts, admin/admin-responses.ts).
 *
 * The zod schemas named here are the ones the handlers validate with (parseOrProblem and
 * parseTokenRequest), or the ones the wire shapes are typed with: declared once, used for both.
 * Fastify itself never sees them: the keys below are not Fastify's `body`, `querystring`, `params`,
 * `headers` or `response` (the generator refuses a route that uses those), so Fastify neither
 * validates nor serializes with them, each handler keeps validating in the order, and with the
 * error bodies, its tests assert, and responses are serialized exactly as before.
 */

/** The tags of the API; base-document.ts describes each and orders the document by them. */
export type ApiTag =
  | 'token'
  | 'introspection'
  | 'discovery'
  | 'health'
  | 'metrics'
  | 'console'
  | 'grants'
  | 'revocations'
  | 'ledger'
  | 'identities'
  | 'reports'
  | 'registrations'
  | 'audit'
  | 'admin-tokens'
  | 'config'
  | 'keys'

/** Where a part of the document is declared once and referenced by name: `#/components/<kind>/<name>`. */
export type ComponentKind = 'responses' | 'headers' | 'examples'

/** A response, header or example declared once and referenced by name wherever it is used. */
export class Component<T> {
  constructor(
    readonly kind: ComponentKind,
    readonly name: string,
    readonly value: T,
  ) {}
}

export interface Example {
  summary?: string
  value: unknown
}

export interface Header {
  description?: string
  required?: boolean
  schema: z.ZodType
}

export interface Media {
  schema: z.ZodType
  example?: unknown
  examples?: Record<string, Example | Component<Example>>
}

export interface Response {
  description: string
  headers?: Record<string, Header | Component<Header>>
  content?: Record<string, Media>
}

/** Form bodies for the OAuth endpoints, JSON for the admin API. */
export type RequestMediaType = 'application/json' | 'application/x-www-form-urlencoded'

export interface RequestBody extends Media {
  mediaType: RequestMediaType
}

/**
 * The parameters by where they are sent, each an object schema whose properties are the parameters.
 * A property's `.describe()` is the parameter's description.
 */
export interface Parameters {
  path?: z.ZodObject
  query?: z.ZodObject
  header?: z.ZodObject
}

export interface Operation {
  tags: [ApiTag]
  operationId: string
  summary: string
  /**
   * Markdown. An admin operation's role is added from its route's `config.role` (with its security
   * requirement and `x-seed-sts-role`), so it is not repeated here.
   */
  description?: string
  parameters?: Parameters
  requestBody?: RequestBody
  /** By status code. */
  responses: Record<number, Response | Component<Response>>
}

declare module 'fastify' {
  // The operation's own keys, beside Fastify's (which the operations never use: see above).
  interface FastifySchema {
    tags?: Operation['tags']
    operationId?: string
    summary?: string
    description?: string
    parameters?: Parameters
    requestBody?: RequestBody
    responses?: Operation['responses']
  }
}

/** Declares a route's operation; typed, so a misspelled key or a missing summary does not compile. */
export function operation(declared: Operation): Operation {
  return declared
}

export function component<T>(kind: ComponentKind, name: string, value: T): Component<T> {
  return new Component(kind, name, value)
}
