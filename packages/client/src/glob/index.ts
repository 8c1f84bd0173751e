/**
 * @seed-sts/client/glob: glob matching with the service's semantics (README, "Grants"), for the service
 * itself and for anyone who must decide as it does, such as which identities a subject revocation covers.
 */
export { CompiledGlob, compileGlob, isGlob, tokenize, type GlobToken } from './glob.js'
export { GlobIndex, segmentPrefixOf } from './glob-index.js'
