import type { ReplayGuard } from './replay-guard.js'

/** A record that can take several claims in one statement (src/replay/sql-replay-guard.ts). */
export interface BatchClaimRecord extends ReplayGuard {
  claimMany(claims: ReadonlyArray<{ key: string; until: Date }>): Promise<boolean[]>
}

interface Pending {
  key: string
  until: Date
  resolve: (first: boolean) => void
  reject: (error: unknown) => void
}

/**
 * Group commit for single-use claims, as src/ledger/batching-ledger.ts does for the ledger: the claims
 * made during one turn of the event loop go to the record in one statement, and each caller is answered
 * once it is committed. Every DPoP proof is such a claim (its `jti`), so one INSERT each would make a
 * bound exchange cost a round trip and a commit more than a bearer one. The guarantee is the record's:
 * exactly one claim of a key wins, on any instance; a batch that fails fails every claim in it
 * (ServiceUnavailableError), never answers one as first.
 */
export class BatchingReplayGuard implements ReplayGuard {
  private pending: Pending[] = []
  private scheduled = false

  constructor(
    private readonly record: BatchClaimRecord,
    private readonly maxBatch = 200,
  ) {}

  claim(key: string, until: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, until, resolve, reject })
      if (this.pending.length >= this.maxBatch) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch)
      this.record.claimMany(batch).then(
        (answers) => batch.forEach((pending, index) => pending.resolve(answers[index])),
        (error: unknown) => batch.forEach((pending) => pending.reject(error)),
      )
    }
  }

  close(): Promise<void> {
    return this.record.close()
  }
}
