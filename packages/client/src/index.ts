/**
 * @seed-sts/client: the public entry point. Everything a user may import is exported from here.
 */
export { StsError } from './errors.js'
