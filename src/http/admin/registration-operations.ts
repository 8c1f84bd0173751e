import { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { ForgetInput, RegistrationJson, RegistrationListQuery } from '../../replay/registration.js'
import { operation } from '../openapi/operation.js'
import { NotFound, PayloadTooLarge, problemResponse, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** The path of one registration: any strings (an unknown one is simply not found). */
export const RegistrationParams = z.object({
  attestor: z.string().describe("The attestor's name."),
  instance: z.string().describe("The instance, percent-encoded (an AWS instance's `/` as `%2F`)."),
})

const RegistrationResponse = z.object({ registration: RegistrationJson }).strict().meta({ id: 'RegistrationResponse' })

const RegistrationPage = z
  .object({
    registrations: z.array(RegistrationJson),
    nextCursor: z.string().optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'RegistrationPage' })

export const registrationOperations = {
  list: operation({
    tags: ['registrations'],
    operationId: 'listRegistrations',
    summary: 'List instance registrations',
    description: prose`
      The instances registered at their first attestation by attestors that bind an instance to it
      (\`aws\`, with \`reattestation: nonce\` or \`never\`), in attestor and instance order. An AWS
      instance is \`<account>/<region>/<instance id>\`. While the answer has a \`nextCursor\`, pass it
      back as \`cursor\` with the same filters.
    `,
    parameters: { query: RegistrationListQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: RegistrationPage } },
      },
      400: ValidationProblem,
      ...ADMIN_FAILURES,
    },
  }),
  read: operation({
    tags: ['registrations'],
    operationId: 'getRegistration',
    summary: 'Read an instance registration',
    parameters: { path: RegistrationParams },
    responses: {
      200: { description: 'The registration.', content: { 'application/json': { schema: RegistrationResponse } } },
      404: NotFound,
      ...ADMIN_FAILURES,
    },
  }),
  forget: operation({
    tags: ['registrations'],
    operationId: 'forgetRegistration',
    summary: 'Forget an instance registration',
    description: prose`
      Forgets the registration, saying why in the JSON body: the next attestation of the instance
      registers it afresh, with the nonce it brings. The way back for an instance that lost its
      nonce, and the way in for whoever holds a copy of its identity document: make sure the
      instance is the one to attest next. Recorded on the audit log as \`registration.forget\`, with
      the registration as it was (\`before\`) and the reason (\`after\`).
    `,
    parameters: { path: RegistrationParams },
    requestBody: {
      mediaType: 'application/json',
      schema: ForgetInput,
      example: { reason: 'instance rebuilt from its image, nonce lost (CHG-88)' },
    },
    responses: {
      200: { description: 'The registration as it was, now forgotten.', content: { 'application/json': { schema: RegistrationResponse } } },
      400: ValidationProblem,
      404: problemResponse('No such registration (none was made, or it was forgotten already).', {
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: 'no registration of instance 111122223333/eu-west-1/i-0abc123 with attestor prod-aws',
        instance: '/v1/registrations/prod-aws/111122223333%2Feu-west-1%2Fi-0abc123',
        reason: 'registration_not_found',
      }),
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
}
