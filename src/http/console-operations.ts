import { z } from 'zod'
import { prose } from '../lib/prose.js'
import { operation, type Response } from './openapi/operation.js'
import { problemResponse } from './problem-responses.js'

const FileName = z.object({
  file: z.string().describe("One of the console's files (`app.js`, `console.css`...); any other name is a 404, whatever it spells."),
})

const HEADERS =
  'Every answer under /console, 404s included, carries a strict `Content-Security-Policy` (scripts, ' +
  'styles, images and requests from this origin only; no inline script or style; no framing, no form ' +
  'submission, no `<base>`), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.'

const file = (description: string, mediaType: string): Response => ({
  description,
  content: { [mediaType]: { schema: z.string() } },
})

export const consoleOperations = {
  redirect: operation({
    tags: ['console'],
    operationId: 'redirectToConsole',
    summary: 'The incident console, without its trailing slash',
    description: "Redirects to `/console/`, where the console's relative links resolve.",
    responses: { 308: { description: 'To `/console/`.' } },
  }),
  page: operation({
    tags: ['console'],
    operationId: 'getConsole',
    summary: 'The incident console',
    description:
      prose`
      The incident console: a page for a person, not an API. It asks for an admin token, keeps it in
      the page's memory only (never in storage, a cookie or a URL) and calls the admin API with it,
      so it can do exactly what that token may. Absent with \`console.enabled: false\`.
    ` + `\n${HEADERS}`,
    responses: {
      200: file('The page.', 'text/html; charset=utf-8'),
      304: { description: 'Unchanged since the `ETag` sent in `If-None-Match`.' },
    },
  }),
  file: operation({
    tags: ['console'],
    operationId: 'getConsoleFile',
    summary: "One of the incident console's files",
    description:
      prose`
      A script, style sheet or image of the console, from the fixed set the service read at start.
    ` + `\n${HEADERS}`,
    parameters: { path: FileName },
    responses: {
      200: file(
        'The file, with its media type (`text/javascript`, `text/css`, `image/svg+xml`, `image/png`).',
        'text/javascript; charset=utf-8',
      ),
      304: { description: 'Unchanged since the `ETag` sent in `If-None-Match`.' },
      404: problemResponse('No console file has this name.', {
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: 'no route for GET /console/..%2Fpackage.json',
        instance: '/console/..%2Fpackage.json',
        reason: 'route_not_found',
      }),
    },
  }),
}
