import t from 'tap'
import { SqlAuditLog } from '../../../src/audit/sql-audit-log.js'
import { parseConfig } from '../../../src/config.js'
import { grantsBreakingGuardrails } from '../../../src/grants/guardrails/existing-grants.js'
import { Guardrails } from '../../../src/grants/guardrails/guardrails.js'
import { SqlGrantStore } from '../../../src/grants/sql-grant-store.js'
import { BACKENDS } from '../../support/databases.js'
import { grantDraft } from '../../support/grant-drafts.js'

/** Grants on record that break a rule (written before it, or by hand) are found, on both storage modes, across pages. */

const NOW = Date.UTC(2026, 10, 23, 12)
const now = new Date(NOW)
const ACTOR = { name: 'platform-team', requestId: null }
const config = parseConfig({ issuer: 'https://sts.example.org', trustDomain: 'example.org', audience: 'seed-sts' })
const guardrails = Guardrails.of({ ...config.grants.guardrails, maxTtlSeconds: 900 }, config.trustDomain, config.attestors)

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`grants breaking guardrails on ${backend}`, async (t) => {
    const db = await open(t)
    const store = new SqlGrantStore(db, new SqlAuditLog(db))
    const fine = { description: 'payments read the ledger' }
    const ids: string[] = []
    // More than a page (500) of grants that break nothing, so the listing must follow cursors.
    for (let i = 0; i < 501; i++) ids.push((await store.create(grantDraft(NOW, fine), now, ACTOR)).id)
    const wide = await store.create(
      grantDraft(NOW, { ...fine, subject: 'spiffe://example.org/**', enabled: false }),
      new Date(NOW + 1),
      ACTOR,
    )
    const long = await store.create(grantDraft(NOW, { ...fine, maxTtlSeconds: 3600 }), new Date(NOW + 2), ACTOR)
    const found = await grantsBreakingGuardrails(store, guardrails, now)
    t.same(
      found.map(({ grant, findings }) => [grant.id, findings.map((finding) => finding.rule)]),
      [
        [wide.id, ['subject-spans-trust-domain', 'subject-spans-attestor-kind', 'shared-issuer-unpinned']],
        [long.id, ['ttl-above-ceiling']],
      ],
    )
    t.same(found[1], {
      grant: long,
      findings: [
        {
          rule: 'ttl-above-ceiling',
          field: 'maxTtlSeconds',
          reason: 'maxTtlSeconds 3600 is above the ceiling of 900 (grants.guardrails.maxTtlSeconds)',
        },
      ],
    })
  })
}
