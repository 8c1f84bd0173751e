import { z } from 'zod'
import { component, type Header } from './openapi/operation.js'

/** The response headers the API description names in more than one place, each declared once. */

export const CacheControlNoStore = component<Header>('headers', 'CacheControlNoStore', {
  description: 'Tokens and token errors must not be cached.',
  required: true,
  schema: z.literal('no-store'),
})

export const PragmaNoCache = component<Header>('headers', 'PragmaNoCache', {
  description: 'For HTTP/1.0 caches.',
  required: true,
  schema: z.literal('no-cache'),
})

export const RequestId = component<Header>('headers', 'RequestId', {
  description: "The request's id, generated (a UUID) or a valid `X-Request-Id` request header marked `client:`.",
  required: true,
  schema: z.string().max(135),
})

export const RateLimitLimit = component<Header>('headers', 'RateLimitLimit', {
  description: 'Requests allowed per minute from this client address (absent when the limit is off).',
  schema: z.number().int(),
})

export const RateLimitRemaining = component<Header>('headers', 'RateLimitRemaining', {
  description: 'Requests left in the current window.',
  schema: z.number().int(),
})

export const RateLimitReset = component<Header>('headers', 'RateLimitReset', {
  description: 'Seconds until the window resets.',
  schema: z.number().int(),
})

export const RetryAfter = component<Header>('headers', 'RetryAfter', {
  description: 'Seconds to wait before trying again.',
  required: true,
  schema: z.number().int(),
})

export const Location = component<Header>('headers', 'Location', {
  description: 'The URL of what was made (or, for a revocation already standing, of that one).',
  required: true,
  schema: z.string(),
})

export const RetryAfterWhenShed = component<Header>('headers', 'RetryAfterWhenShed', {
  description:
    'On a request shed because the instance is overloaded (reason `overloaded`): seconds to wait (`overload.retryAfterSeconds`) ' +
    'before trying again, here or on another instance. Absent when a store cannot answer: retry with backoff.',
  schema: z.number().int(),
})
