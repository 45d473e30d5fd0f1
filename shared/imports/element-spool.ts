import { deflateRawSync, inflateRawSync } from 'node:zlib'

/** Elements per compressed batch: a batch is compressed at once, and read back at once. */
const BATCH_ELEMENTS = 2000

/**
 * The reduced elements of a streamed list (CycloneDX components) while a document is received:
 * kept compressed in batches, so that what the scanner's bounds allow of them takes a fraction
 * of its size in memory until the document has ended and it is known which of them are needed.
 */
export class ElementSpool {
  private readonly batches: Buffer[] = []
  private pending: string[] = []

  add (element: Readonly<Record<string, string>>): void {
    // JSON text escapes line breaks: a newline separates elements.
    this.pending.push(JSON.stringify(element))
    if (this.pending.length >= BATCH_ELEMENTS) this.seal()
  }

  /** The elements whose `key` member is one of `named` (all of them without `named`), in the order they were added. */
  select (key: string, named?: ReadonlySet<string>): Array<Record<string, string>> {
    const selected: Array<Record<string, string>> = []
    const take = (lines: readonly string[]) => {
      for (const line of lines) {
        const element = JSON.parse(line) as Record<string, string>
        if (named === undefined || (typeof element[key] === 'string' && named.has(element[key]))) selected.push(element)
      }
    }
    for (const batch of this.batches) take(inflateRawSync(batch).toString('utf8').split('\n'))
    take(this.pending)
    return selected
  }

  private seal (): void {
    this.batches.push(deflateRawSync(this.pending.join('\n')))
    this.pending = []
  }
}
