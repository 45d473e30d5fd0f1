import { v7 as uuidv7 } from 'uuid'
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
 * an error answer; a failure later ends the stream early.
 */
export async function exportRecords (data: DataLayer, context: RequestContext, filters: ListFilters, after: string | undefined, format: ExportFormat): Promise<AsyncGenerator<string>> {
  const read = (position: string | undefined): Promise<ListPage> => data.records.list(context.actor.tenant, filters, EXPORT_PAGE, position, context.now)
  const firstPage = await read(after)
  const exportContext = { tenant: context.actor.tenant, now: context.now, id: uuidv7() }
  return (async function * () {
    let written = false
    let page: ListPage | undefined = firstPage
    yield format.begin(exportContext)
    while (page) {
      const parts: string[] = []
      for (const record of page.items) {
        const part = format.item(record, !written)
        if (part === undefined) continue
        parts.push(part)
        written = true
      }
      if (parts.length > 0) yield parts.join('')
      page = page.resumeAfter === undefined ? undefined : await read(page.resumeAfter)
    }
    yield format.end(exportContext)
  })()
}
