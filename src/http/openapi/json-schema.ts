import { z } from 'zod'

/** A JSON Schema, or any part of the document, as plain JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), with the schemas it names (`.meta({ id })`) apart. */
export interface ConvertedSchema {
  schema: JsonObject
  /** The named schemas it refers to, by id, each referred to as `#/components/schemas/<id>`. */
  named: Map<string, JsonObject>
}

const COMPONENT_SCHEMAS = '#/components/schemas/'

/**
 * Converts a zod schema as a client sends it (`io: 'input'`: defaults shown, not required) and tidies
 * what zod adds for its own reasons: the regex behind a `format`, the safe-integer bounds of every
 * integer, `anyOf` with `null` where a type list says the same. A named schema becomes a `$ref`.
 */
export function convertSchema(schema: z.ZodType): ConvertedSchema {
  const converted = z.toJSONSchema(schema, { io: 'input' }) as JsonObject
  const { $defs, $schema: _dialect, ...root } = converted
  const named = new Map<string, JsonObject>()
  for (const [id, def] of Object.entries(($defs ?? {}) as JsonObject)) {
    // Only named schemas become definitions (cycles and reuse are inlined by default): anything else is a surprise.
    if (id.startsWith('__schema')) throw new Error(`zod made a definition of an unnamed schema (${id}): give it an id with .meta({ id })`)
    named.set(id, tidy(def) as JsonObject)
  }
  return { schema: tidy(root) as JsonObject, named }
}

/** The order of keywords in the document: what a reader looks for first, first. */
const KEYWORD_ORDER = [
  '$ref',
  'description',
  'type',
  'const',
  'enum',
  'format',
  'contentMediaType',
  'contentSchema',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'minItems',
  'maxItems',
  'maxProperties',
  'default',
  'required',
  'additionalProperties',
  'propertyNames',
  'properties',
  'items',
  'anyOf',
  'allOf',
  'not',
  'examples',
  'example',
]

const VALUE_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example'])

// Formats zod checks with a regex of its own, which it also emits; the format is what a client needs.
const FORMATS_WITH_PATTERN = new Set(['date-time', 'uuid'])

function tidy(node: JsonValue): JsonValue {
  if (Array.isArray(node)) return node.map(tidy)
  if (typeof node !== 'object' || node === null) return node
  const schema: JsonObject = {}
  for (const [key, value] of Object.entries(node)) {
    // `properties` holds names, not keywords: tidy each property's schema, keep the names as declared.
    // Values (defaults, examples, extensions) are data, left as they are.
    schema[key] =
      key === 'properties' ? mapValues(value as JsonObject, tidy) : VALUE_KEYWORDS.has(key) || key.startsWith('x-') ? value : tidy(value)
  }
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/$defs/'))
    schema.$ref = COMPONENT_SCHEMAS + schema.$ref.slice('#/$defs/'.length)
  if (typeof schema.format === 'string' && FORMATS_WITH_PATTERN.has(schema.format)) delete schema.pattern
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum
  if (isEmptyObject(schema.properties) && schema.type === 'object') delete schema.properties
  if (isEmptyObject(schema.additionalProperties)) delete schema.additionalProperties
  if (isEmptyObject(schema.items)) delete schema.items
  if (isStringType(schema.propertyNames)) delete schema.propertyNames
  return ordered(nullableAsTypeList(schema))
}

/** `anyOf: [X, {type: null}]` as X with `type: [X's type, 'null']`, when X's other keywords let null through. */
function nullableAsTypeList(schema: JsonObject): JsonObject {
  const branches = schema.anyOf
  if (!Array.isArray(branches) || branches.length !== 2) return schema
  const [value, nothing] = branches as [JsonObject, JsonObject]
  const isNull = Object.keys(nothing).length === 1 && nothing.type === 'null'
  // `enum` and `const` would refuse the null; a `$ref` has no type to extend.
  if (!isNull || typeof value.type !== 'string' || 'enum' in value || 'const' in value || '$ref' in value) return schema
  const { anyOf: _branches, ...rest } = schema
  return { ...value, ...rest, type: [value.type, 'null'] }
}

function ordered(schema: JsonObject): JsonObject {
  const rank = (key: string) => (KEYWORD_ORDER.includes(key) ? KEYWORD_ORDER.indexOf(key) : KEYWORD_ORDER.length)
  return Object.fromEntries(Object.entries(schema).sort(([a], [b]) => rank(a) - rank(b)))
}

function mapValues(object: JsonObject, map: (value: JsonValue) => JsonValue): JsonObject {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value)]))
}

function isEmptyObject(value: JsonValue | undefined): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
}

function isStringType(value: JsonValue | undefined): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && value.type === 'string'
}
