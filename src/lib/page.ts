/**
 * The one pagination contract of every list (grants, ledger, audit, registrations, revocations): the
 * caller says where to start and how many at most; the store answers a page and where the next begins.
 */

export interface PageRequest {
  /** A `nextCursor` from an earlier page of the same list and filter; absent for the first page. */
  cursor?: string
  limit: number
}

export interface Page<T> {
  items: T[]
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string
}
