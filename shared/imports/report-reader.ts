import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { BodyTooLargeError, InvalidEncodingError, InvalidRequestError, UnsupportedMediaTypeError } from '../errors.ts'
import type { LogPiece, ScanPaths } from './report-format.ts'
import { ReportScanner } from './report-scanner.ts'

/** Bytes on the wire: a 10 MB gzip report is accepted, with room to spare. */
export const MAX_REPORT_WIRE_BYTES = 16 * 1024 * 1024
/**
 * Bytes of the report itself (after gunzip). 25 000 results of a verbose scanner are about
 * 40 MB; a gzip bomb is stopped here, at this many bytes, not after inflating all of it.
 */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024

/** The content codings the import accepts (RFC 9110 §8.4); anything else is a 415. */
export const REPORT_CONTENT_ENCODINGS = ['gzip', 'x-gzip', 'identity'] as const

export interface ReportBody {
  payload: Readable | undefined
  contentType: string | undefined
  contentEncoding: string | undefined
  contentLength: string | undefined
}

/**
 * The pieces of a report, read from a request body as it arrives: gunzipped when it says so,
 * bounded in wire and report bytes, checked as UTF-8, scanned as strict JSON where the format's
 * `paths` say (./report-scanner.ts). A report over a limit is refused when the limit is reached.
 */
export async function * readReport ({ payload, contentType, contentEncoding, contentLength }: ReportBody, paths: ScanPaths): AsyncGenerator<LogPiece> {
  if (!payload) throw new InvalidRequestError('Send the report as the request body')
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new UnsupportedMediaTypeError(`charset ${charset.slice(0, 50)} is not accepted; send the report as UTF-8`)
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  if (!(REPORT_CONTENT_ENCODINGS as readonly string[]).includes(encoding)) {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${encoding.slice(0, 50)} is not accepted; send the report as is or gzip`)
  }
  const gzip = encoding !== 'identity'
  const declared = contentLength === undefined ? undefined : Number(contentLength)
  const wireLimit = gzip ? MAX_REPORT_WIRE_BYTES : MAX_REPORT_BYTES
  if (declared !== undefined && declared > wireLimit) throw tooLarge(wireLimit, gzip)

  let source = payload
  if (gzip) {
    // Compressed bytes are counted as they are piped; the report's own bytes in the loop below.
    let wireBytes = 0
    payload.on('data', (chunk: Buffer) => {
      wireBytes += chunk.length
      if (wireBytes > wireLimit) payload.destroy(tooLarge(wireLimit, gzip))
    })
    source = payload.pipe(createGunzip())
    payload.on('error', (error) => source.destroy(error))
  }

  const decoder = new TextDecoder('utf-8', { fatal: true })
  const scanner = new ReportScanner(paths)
  let reportBytes = 0
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      reportBytes += chunk.length
      if (reportBytes > MAX_REPORT_BYTES) throw tooLarge(MAX_REPORT_BYTES, false)
      yield * scanner.push(decode(decoder, chunk))
    }
    yield * scanner.push(decode(decoder))
    yield * scanner.end()
  } catch (error) {
    if ((error as { code?: string }).code === 'Z_DATA_ERROR' || (error as { code?: string }).code === 'Z_BUF_ERROR') {
      throw new InvalidRequestError('The body says Content-Encoding gzip but is not valid gzip')
    }
    throw error
  } finally {
    // Stop reading a body we gave up on (its remaining bytes are discarded by the server).
    source.destroy()
  }
}

function decode (decoder: TextDecoder, chunk?: Buffer): string {
  try {
    return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true })
  } catch {
    throw new InvalidEncodingError('The report is not valid UTF-8')
  }
}

function tooLarge (limit: number, gzip: boolean): Error {
  return new BodyTooLargeError(`The report is larger than ${limit / (1024 * 1024)} MiB${gzip ? ' compressed' : ''}; split it by run or category`)
}
