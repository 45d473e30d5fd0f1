import { v7 as uuidv7 } from 'uuid'
import { NoVexStatementsError } from '../errors.ts'
import type { ExportFormat } from '../exports/export-format.ts'
import type { ListFilters } from '../records/list-filters.ts'
import type { ListPage } from '../store/records-repository.ts'
import type { DataLayer } from './data-layer.ts'
import type { RequestContext } from './request-context.ts'

/** Records read per page of an export: the list's largest page. */
const EXPORT_PAGE = 100

/**
 * The caller's tenant's records on a filter (from `after` on), written in `format` page by page
 * as they are read: any number of records in the memory of one page. The first page is read
 * before anything is written, so what is wrong with the request (the store unavailable) is still
 * an error answer; a failure later ends the stream early. A format that has no document without
 * an item reads on to the first record it carries before anything is written: with none, the
 * export is refused (NoVexStatementsError) rather than written invalid.
 */
export async function exportRecords (data: DataLayer, context: RequestContext, filters: ListFilters, after: string | undefined, format: ExportFormat): Promise<AsyncGenerator<string>> {
  const read = (position: string | undefined): Promise<ListPage> => data.records.list(context.actor.tenant, filters, EXPORT_PAGE, position, context.now)
  let written = false
  const partsOf = (page: ListPage): string[] => {
    const parts: string[] = []
    for (const record of page.items) {
      const part = format.item(record, !written)
      if (part === undefined) continue
      parts.push(part)
      written = true
    }
    return parts
  }
  const exportContext = { tenant: context.actor.tenant, now: context.now, id: uuidv7() }
  // Begun before any record is given to the format (SARIF starts its rules afresh there).
  const head = format.begin(exportContext)
  let page: ListPage = await read(after)
  let parts = partsOf(page)
  if (format.needsAnItem !== undefined) {
    while (parts.length === 0 && page.resumeAfter !== undefined) {
      page = await read(page.resumeAfter)
      parts = partsOf(page)
    }
    if (parts.length === 0) throw new NoVexStatementsError(format.needsAnItem)
  }
  return (async function * () {
    yield head
    for (;;) {
      if (parts.length > 0) yield parts.join('')
      if (page.resumeAfter === undefined) break
      page = await read(page.resumeAfter)
      parts = partsOf(page)
    }
    yield format.end(exportContext)
  })()
}
