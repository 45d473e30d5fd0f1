declare module 'negotiator' {
  import type { IncomingHttpHeaders } from 'node:http'

  /** jshttp/negotiator: HTTP content negotiation (RFC 9110 §12.5), the part this project uses. */
  export default class Negotiator {
    constructor (request: { headers: IncomingHttpHeaders })
    /** The most preferred of `available` the Accept header allows; undefined when none. */
    mediaType (available?: string[]): string | undefined
  }
}
