import { Document, isMap, isScalar, isSeq, Scalar, type Node } from 'yaml'
import type { JsonObject, JsonValue } from './json-schema.js'

/**
 * The API description as YAML a person reads: prose as literal blocks, small schemas and references
 * on one line (`{ type: string, maxLength: 200 }`), lists of words on one line (`[grants]`), a blank
 * line between paths and between components. YAML 1.1 quoting (`'no'`, `'on'`, timestamps), so that
 * older parsers read the same strings.
 */
export function renderYaml(document: JsonObject): string {
  if (JSON.stringify(document).includes(PLACEHOLDER)) throw new Error(`the document contains ${PLACEHOLDER}, which renderYaml uses itself`)
  const yaml = new Document(document, { version: '1.1', aliasDuplicateObjects: false })
  // The yaml library pads every flow collection alike (`[ a ]`); lists are written unpadded, as
  // people write them: each is rendered apart, stands in the document as a placeholder, and is put back.
  const lists: string[] = []
  yaml.contents = style(yaml.contents, document, { context: 'document', inList: false, key: '' }, lists) as typeof yaml.contents
  spaceOut(yaml.contents, ['paths', 'components'])
  spaceOut(childOf(yaml.contents, 'paths'), 'all')
  const components = childOf(yaml.contents, 'components')
  spaceOut(components, 'all')
  spaceOut(childOf(components, 'schemas'), 'all')
  const text = yaml.toString(OPTIONS)
  return text.replace(new RegExp(`\\b${PLACEHOLDER}(\\d+)_\\b`, 'g'), (_placeholder, index: string) => lists[Number(index)])
}

const PLACEHOLDER = 'INLINE_LIST_'

const OPTIONS = { lineWidth: 0, minContentWidth: 0, singleQuote: true } as const

/** On one line at most this long; longer ones are written as blocks (short maps of long words excepted, below). */
const FLOW_WIDTH = 100

/**
 * Where a node stands: in the document's own structure, in a schema, or in an example (where short
 * maps and lists read best on one line); in a list or not; under which key.
 */
interface Place {
  context: 'document' | 'schema' | 'example'
  inList: boolean
  key: string
}

const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:t|T|[ \t]+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d+)?(?:[ \t]*(?:Z|[-+][012]?\d(?::\d{2})?))?)?$/

const CONTEXT_OF_KEY: Record<string, Place['context']> = { schema: 'schema', schemas: 'schema', example: 'example', value: 'example' }

/** Styles `node`, which holds `value`, and answers the node to put in its place. */
function style(node: unknown, value: JsonValue, place: Place, lists: string[]): unknown {
  if (isScalar(node) && typeof value === 'string') {
    if (value.includes('\n')) node.type = Scalar.BLOCK_LITERAL
    // A YAML 1.1 parser reads these as dates. Quoted here rather than left to the yaml library, whose
    // timestamp tag is shared by the whole process and reconfigured by other code in it (tap's).
    else if (TIMESTAMP.test(value)) node.type = Scalar.QUOTE_SINGLE
    return node
  }
  if (isSeq(node) && Array.isArray(value)) {
    // `security: [{ adminToken: [] }]`: one requirement, read at a glance.
    const items = place.context === 'example' ? value.every((item) => isWord(item) || isFlatMap(item)) : value.every(isWord)
    if (place.key === 'security' || (items && flowText(value).length <= FLOW_WIDTH)) return inlineList(value, lists)
    node.items = node.items.map<(typeof node.items)[number]>((item, i) => style(item, value[i], { ...place, inList: true, key: '' }, lists))
    return node
  }
  if (isMap(node) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key)
      const context = place.context === 'document' ? (CONTEXT_OF_KEY[key] ?? 'document') : place.context
      pair.value = style(pair.value, value[key], { context, inList: false, key }, lists)
    }
    node.flow = isFlow(value, place)
    if (node.flow) {
      // On one line, what it is comes first and what it is for after: `{ type: string, description: ... }`.
      node.items.sort((a, b) => Number(isDescription(a.key)) - Number(isDescription(b.key)))
      for (const pair of node.items) {
        if (isScalar(pair.value) && typeof pair.value.value === 'string') quoteIfNotAWord(pair.value)
        // A list too long for a line of its own is still on this one.
        if (isSeq(pair.value)) pair.value = inlineList(value[String(isScalar(pair.key) ? pair.key.value : pair.key)] as JsonValue[], lists)
      }
    }
  }
  return node
}

/** A placeholder for `list` written on one line, unpadded (`[a, b]`): renderYaml puts the text in its place. */
function inlineList(list: JsonValue[], lists: string[]): Scalar {
  lists.push(`[${list.map(inListText).join(', ')}]`)
  return new Scalar(`${PLACEHOLDER}${lists.length - 1}_`)
}

function isFlow(value: JsonObject, place: Place): boolean {
  const entries = Object.keys(value).length
  const isRef = entries === 1 && '$ref' in value
  // `- $ref: ...` in a list (allOf) reads as a list of references.
  if (isRef) return !place.inList
  if (place.context === 'document' || !Object.values(value).every(fitsOnOneLine)) return false
  // A short map of long words (an error body, a property and its description) is still one thing: one line.
  return flowText(value).length <= FLOW_WIDTH || entries <= (place.context === 'example' ? 3 : 2)
}

/** In a line of YAML, words are left bare and anything else is quoted, as a person writes it. */
function quoteIfNotAWord(scalar: Scalar): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(scalar.value as string)) scalar.type = Scalar.QUOTE_SINGLE
}

function inListText(item: JsonValue): string {
  if (typeof item === 'string' && !/^[A-Za-z0-9_.-]+$/.test(item)) return `'${item.replace(/'/g, "''")}'`
  return flowText([item]).slice(1, -1).trim()
}

function isDescription(key: unknown): boolean {
  return isScalar(key) && key.value === 'description'
}

function isWord(value: JsonValue): boolean {
  return typeof value !== 'object' && !(typeof value === 'string' && value.includes('\n'))
}

function isFlatMap(value: JsonValue): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(isWord)
}

function fitsOnOneLine(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.every(isWord)
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 1 && '$ref' in value
  return isWord(value)
}

/** `value` written on one line, as YAML writes it within a line. */
function flowText(value: JsonValue): string {
  return new Document(value, { version: '1.1', aliasDuplicateObjects: false }).toString({ ...OPTIONS, collectionStyle: 'flow' }).trim()
}

function childOf(node: unknown, key: string): unknown {
  return isMap(node) ? node.get(key, true) : undefined
}

/** A blank line before each of these entries of `node` (`all`: before every entry but the first). */
function spaceOut(node: unknown, keys: string[] | 'all'): void {
  if (!isMap(node)) return
  node.items.forEach((pair, i) => {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key)
    if (keys === 'all' ? i > 0 : keys.includes(key)) (pair.key as Node).spaceBefore = true
  })
}
