/**
 * Moved to src/attestors/github/names.ts, with the rest of the github kind. This file only keeps the
 * imports of src/http/admin/ working until they name the new place; delete it then.
 */
export { canonicalGitHubClaim, canonicalGitHubConditions, canonicalGitHubSource, canonicalGitHubSubject } from './github/names.js'
