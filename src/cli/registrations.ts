import type { Registration, RegistrationQuery } from './client.js'
import { listAction, printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, printable, renderFields, text, yesNo, type Column } from './table.js'

const REGISTRATION_COLUMNS: Column<Registration>[] = [
  { header: 'ATTESTOR', value: (r) => r.attestor },
  // Left whole: it is what `sts registrations forget` takes.
  { header: 'INSTANCE', value: (r) => r.instance },
  { header: 'NONCE', value: (r) => yesNo(r.nonceBound) },
  { header: 'FIRST SEEN', value: (r) => formatTime(r.firstSeen) },
  { header: 'LAST SEEN', value: (r) => formatTime(r.lastSeen) },
  { header: 'ATTESTATIONS', value: (r) => text(r.attestations) },
  { header: 'ADDRESS', value: (r) => r.lastAddress ?? '' },
]

export function renderRegistration(registration: Registration): string {
  return renderFields([
    ['attestor', registration.attestor],
    ['instance', registration.instance],
    ['nonceBound', text(registration.nonceBound)],
    ['firstSeen', formatTime(registration.firstSeen)],
    ['lastSeen', formatTime(registration.lastSeen)],
    ['lastAddress', registration.lastAddress ?? ''],
    ['attestations', text(registration.attestations)],
  ])
}

const list: Command = {
  name: 'registrations list',
  summary: 'list instance registrations (AWS), by attestor and instance',
  usage:
    'registrations list [--attestor A] [--instance I] [--last-seen-before ISO] [--last-seen-after ISO] [--limit N] [--cursor C] [--all] [--json]',
  help: `Lists the instances registered by attestors that bind an instance to its first attestation
(AWS: the instance is account/region/instance-id), in attestor and instance order.

options:
  --attestor A            only this attestor's registrations
  --instance I            this instance, or a glob of them ('*' within a '/'-separated part,
                          '**' across parts), e.g. '111122223333/eu-west-1/*'
  --last-seen-before ISO  only instances that last attested before this time (or a date)
  --last-seen-after ISO   only instances that attested at or after this time
  --limit N               registrations per page (1-500)
  --cursor C              start at this page (the nextCursor of an earlier --json answer)
  --all                   follow nextCursor and print every page`,
  options: {
    attestor: { type: 'string' },
    instance: { type: 'string' },
    'last-seen-before': { type: 'string' },
    'last-seen-after': { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: [],
  parse(args) {
    const query: RegistrationQuery = {
      attestor: args.string('attestor'),
      instance: args.string('instance'),
      lastSeenBefore: args.timestamp('last-seen-before'),
      lastSeenAfter: args.timestamp('last-seen-after'),
      limit: args.integer('limit', 1),
    }
    return listAction(args, {
      key: 'registrations',
      noun: 'registrations',
      columns: REGISTRATION_COLUMNS,
      fetchPage: async (client, cursor) => {
        const answer = await client.listRegistrations({ ...query, cursor })
        return { rows: answer.registrations, nextCursor: answer.nextCursor, answer }
      },
    })
  },
}

const show: Command = {
  name: 'registrations show',
  summary: 'show one instance registration',
  usage: 'registrations show <attestor> <instance> [--json]',
  help: 'Shows one registration: whether it is bound to a nonce, when and from where the instance last attested.',
  options: {},
  positionals: ['attestor', 'instance'],
  parse(args) {
    const [attestor, instance] = args.positionals as [string, string]
    return async ({ client, json, out }) => {
      const answer = await client.getRegistration(attestor, instance)
      if (json) return printJson(out, answer)
      out.stdout(renderRegistration(answer.registration))
    }
  },
}

const forget: Command = {
  name: 'registrations forget',
  summary: 'forget an instance registration, so the instance registers afresh',
  usage: 'registrations forget <attestor> <instance> --reason R [--json]',
  help: `Forgets a registration: the next attestation of the instance registers it afresh, with the
nonce it brings. The way back for an instance that lost its nonce (rebuilt, restored from an image);
also the way in for whoever holds a copy of its identity document, so make sure the instance is the
one to attest next. On the audit log, with the reason.

options:
  --reason R    why (required)`,
  options: { reason: { type: 'string' } },
  positionals: ['attestor', 'instance'],
  parse(args) {
    const [attestor, instance] = args.positionals as [string, string]
    const reason = args.required('reason', 'R')
    return async ({ client, json, out }) => {
      const answer = await client.forgetRegistration(attestor, instance, reason)
      if (json) return printJson(out, answer)
      const { registration } = answer
      out.stdout(
        `forgot the registration of instance ${printable(registration.instance)} with attestor ${printable(registration.attestor)} ` +
          `(last seen ${formatTime(registration.lastSeen)}): it registers afresh at its next attestation\n`,
      )
    }
  },
}

export const registrationCommands: CommandGroup = {
  name: 'registrations',
  summary: 'instances registered at their first attestation: seeing and forgetting them',
  commands: [list, show, forget],
}
