import { Readable } from 'node:stream'
import { constants, gunzipSync } from 'node:zlib'

/** How much of a report's start is read to tell its format: far more than any format's opening members need. */
const START_BYTES = 64 * 1024

/**
 * The start of a report as text (gunzipped when the body says gzip; empty when it cannot be
 * read), and the whole body again as a stream: the reader checks every byte of it as before.
 */
export async function readReportStart (payload: Readable, contentEncoding: string | undefined): Promise<{ start: string, payload: Readable }> {
  const head: Buffer[] = []
  let bytes = 0
  const source = payload[Symbol.asyncIterator]()
  let ended = false
  while (bytes < START_BYTES) {
    const next = await source.next()
    if (next.done) {
      ended = true
      break
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string)
    head.push(chunk)
    bytes += chunk.length
  }
  const whole = Readable.from((async function * () {
    yield * head
    if (!ended) for (let next = await source.next(); !next.done; next = await source.next()) yield next.value as Buffer
  })(), { objectMode: false })
  // Whatever ends the copy (the reader gave up on it) ends the request body too.
  whole.on('close', () => { if (!payload.destroyed && !ended) payload.destroy() })
  return { start: startText(Buffer.concat(head), contentEncoding), payload: whole }
}

function startText (head: Buffer, contentEncoding: string | undefined): string {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  try {
    const bytes = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: START_BYTES * 16 }) : head
    return bytes.toString('utf8')
  } catch {
    // Not gzip after all: the reader says so when it reads the body.
    return ''
  }
}
