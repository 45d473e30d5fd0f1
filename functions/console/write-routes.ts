import type { FastifyPluginAsync } from 'fastify'
import { html } from '../../shared/html/html.ts'
import { consolePaths, pathOf } from './endpoints.ts'
import { bulkResultPage, importedReports, type BulkOutcome } from './pages/other-pages.ts'
import { queueUrl, readFilters } from './pages/queue.ts'
import { recordPage, triagePatch, type TriageInput } from './pages/record.ts'
import type { HistoryEntryView, ImportView, ListPage, RecordView } from './api-types.ts'
import { apiPages } from './page-routes.ts'
import { problemSentence, type CallApi } from './records-client.ts'

const MERGE_PATCH = 'application/merge-patch+json'
const text = (value: unknown, max = 2000) => typeof value === 'string' ? value.slice(0, max).trim() : ''
/** The most records one bulk action changes: one page of the queue. */
const MAX_BULK = 100

/** The console's writes: each a PATCH with the If-Match of the version the person saw, or an import. */
const writeRoutes: FastifyPluginAsync<{ callApi: CallApi }> = async (app, { callApi }) => {
  const pages = apiPages(app, callApi)

  app.post(consolePaths.record, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const { id } = request.params as { id: string }
    const body = (request.body ?? {}) as Record<string, unknown>
    const input: TriageInput = {
      status: text(body.status, 32), statusReason: text(body.statusReason), duplicateOf: text(body.duplicateOf, 64),
      riskExpiresAt: text(body.riskExpiresAt, 32), assignee: text(body.assignee, 200), severity: text(body.severity, 16)
    }
    const version = Number(text(body.version, 12))
    const path = `/v1/records/${encodeURIComponent(id)}`
    // The record as the person saw it: the version their form was made from.
    const seen = await pages.call<RecordView>(request, session, path)
    if (seen.status !== 200) return pages.failure(request, reply, session, seen, 'Not saved')
    const historyOf = async () => {
      const answer = await pages.call<ListPage<HistoryEntryView>>(request, session, `${path}/history`, { query: new URLSearchParams({ limit: '100' }) })
      return answer.status === 200 ? answer.body.items : []
    }
    const base = seen.body.version === version ? seen.body : (await historyAt(historyOf, seen.body, version))
    const patch = triagePatch(base, input, session.sub)
    if (Object.keys(patch).length === 0) return reply.code(303).header('location', pathOf(consolePaths.record, id)).send()
    const answer = await pages.call<RecordView>(request, session, path, { method: 'PATCH', body: JSON.stringify(patch), contentType: MERGE_PATCH, ifMatch: `"${Number.isInteger(version) ? version : 0}"` })
    if (answer.status === 200) return reply.code(303).header('location', pathOf(consolePaths.record, id)).send()
    if (answer.status === 412) {
      const history = await historyOf()
      const since = history.filter((entry) => entry.version > version)
      // Only what the person changed goes on top of the current version: the rest stays as the other writer left it.
      const current = seen.body
      const reapply: TriageInput = {
        status: 'status' in patch ? input.status : current.status,
        statusReason: 'statusReason' in patch ? input.statusReason : current.statusReason ?? '',
        duplicateOf: 'duplicateOf' in patch ? input.duplicateOf : current.duplicateOf ?? '',
        riskExpiresAt: 'riskAcceptance' in patch ? input.riskExpiresAt : current.riskAcceptance?.expiresAt?.slice(0, 10) ?? '',
        assignee: 'assignee' in patch ? input.assignee : current.assignee ?? '',
        severity: 'severity' in patch ? input.severity : current.severity
      }
      return pages.render(reply, { title: current.title, session, current: 'queue' }, recordPage({ record: current, history, canWrite: true, conflict: { input: reapply, since } }), 412)
    }
    if (answer.status === 401) return pages.failure(request, reply, session, answer)
    const history = await historyOf()
    return pages.render(reply, { title: seen.body.title, session, current: 'queue', notice: { kind: 'error', text: `Not saved: ${problemSentence(answer)}` } }, recordPage({ record: seen.body, history, canWrite: session.scopes.includes('records:write') }), answer.status)
  })

  app.post(consolePaths.bulk, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const body = (request.body ?? {}) as Record<string, unknown>
    const selected = (Array.isArray(body.record) ? body.record : body.record === undefined ? [] : [body.record]).map((value) => text(value, 80)).slice(0, MAX_BULK)
    const patch: Record<string, unknown> = {}
    if (text(body.status, 32)) patch.status = text(body.status, 32)
    if (text(body.statusReason)) patch.statusReason = text(body.statusReason)
    if (text(body.assignee, 200)) patch.assignee = text(body.assignee, 200)
    const back = queueUrl(readFilters({}))
    if (selected.length === 0 || Object.keys(patch).length === 0) {
      return pages.render(reply, { title: 'Bulk triage', session, current: 'queue', notice: { kind: 'error', text: 'Select at least one record and a new status or assignee.' } }, html`<p><a href="${back}">Back to the queue</a></p>`, 400)
    }
    // Each record with the If-Match of the version the person selected: a record changed since is listed, never overwritten.
    const outcomes: BulkOutcome[] = await Promise.all(selected.map(async (entry): Promise<BulkOutcome> => {
      const [id = '', version = ''] = entry.split(':')
      const answer = await pages.call<RecordView>(request, session, `/v1/records/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify(patch), contentType: MERGE_PATCH, ifMatch: `"${/^\d+$/.test(version) ? version : 0}"` })
      const title = answer.status === 200 ? answer.body.title : id
      if (answer.status === 200) return { id, title, outcome: Number(answer.body.version) === Number(version) ? 'unchanged' : 'updated' }
      if (answer.status === 412) return { id, title, outcome: 'conflict' }
      return { id, title, outcome: 'refused', detail: problemSentence(answer) }
    }))
    const refused = outcomes.filter((entry) => entry.outcome === 'refused' || entry.outcome === 'conflict').length
    return pages.render(reply, { title: 'Bulk triage', session, current: 'queue' }, bulkResultPage(outcomes, back), refused === outcomes.length ? 409 : 200)
  })

  app.post(consolePaths.importForm, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const fields: Record<string, string> = {}
    let report: Buffer | undefined
    try {
      for await (const part of request.parts()) {
        if (part.type === 'file') report = await part.toBuffer()
        else fields[part.fieldname] = text(part.value, 200)
      }
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE'
      return pages.render(reply, { title: 'Import', session, current: 'import', notice: { kind: 'error', text: tooLarge ? 'The report is larger than 10 MB; compress it or split it.' : 'The upload could not be read; choose the file again.' } }, html`<p><a href="${consolePaths.importForm}">Back</a></p>`, tooLarge ? 413 : 400)
    }
    if (!report || report.length === 0) return pages.render(reply, { title: 'Import', session, current: 'import', notice: { kind: 'error', text: `Choose a ${importedReports} to upload.` } }, html`<p><a href="${consolePaths.importForm}">Back</a></p>`, 400)
    const query = new URLSearchParams({ asset: fields.asset ?? '', assetType: fields.assetType ?? '' })
    if (fields.environment) query.set('environment', fields.environment)
    // As application/json the import tells a SARIF log from a CycloneDX BOM by how the document starts.
    const answer = await pages.call<ImportView>(request, session, '/v1/imports', { method: 'POST', query, body: report, contentType: 'application/json' })
    if (answer.status !== 202 && answer.status !== 201) return pages.failure(request, reply, session, answer, 'Import refused')
    return reply.code(303).header('location', pathOf(consolePaths.importProgress, String(answer.body.id))).send()
  })
}

/**
 * The record as it was at the version the person's form was made from, rebuilt from the current
 * one by undoing the history's later changes: the patch then holds only what the person changed.
 */
async function historyAt (historyOf: () => Promise<HistoryEntryView[]>, current: RecordView, version: number): Promise<RecordView> {
  if (!Number.isInteger(version) || version >= current.version) return current
  const record = structuredClone(current) as Record<string, unknown>
  for (const entry of await historyOf()) {
    if (entry.version <= version) continue
    for (const change of entry.changes ?? []) {
      const [field, nested] = String(change.path).slice(1).split('/')
      if (!field) continue
      if (nested) record[field] = { ...(record[field] as object | undefined), [nested]: change.from ?? undefined }
      else if (change.from === null) delete record[field]
      else record[field] = change.from
    }
  }
  return record as RecordView
}

export default writeRoutes
