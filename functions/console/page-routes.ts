import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { SafeHtml } from '../../shared/html/html.ts'
import { activeStatuses } from '../../shared/records/workflow.ts'
import type { HistoryEntryView, ImportView, ListPage, MetricsView, RecordView } from './api-types.ts'
import { consoleScript, consoleStyles } from './assets/assets.ts'
import { consolePaths } from './endpoints.ts'
import { layout, type PageFrame } from './pages/layout.ts'
import { importForm, importProgressPage, problemPage, signedOutPage } from './pages/other-pages.ts'
import { OVERVIEW_WINDOW_DAYS, overviewPage } from './pages/overview.ts'
import { apiQuery, queuePage, readFilters } from './pages/queue.ts'
import { recordPage } from './pages/record.ts'
import { problemSentence, type ApiAnswer, type CallApi } from './records-client.ts'
import type { Session } from './session.ts'

/** What every page route does with the records API: call it as the person, and turn failures into pages. */
export function apiPages (app: Parameters<FastifyPluginAsync>[0], callApi: CallApi) {
  const sessions = app.consoleSession
  return {
    /** The person's session, or undefined after sending them to sign in. */
    session (request: FastifyRequest, reply: FastifyReply): Session | undefined {
      if (!request.session) { sessions.signInAgain(request, reply); return undefined }
      return request.session
    },
    async call<T = unknown> (request: FastifyRequest, session: Session, path: string, call: Omit<Parameters<CallApi>[2], 'requestId'> = {}): Promise<ApiAnswer<T>> {
      return callApi<T>(session.accessToken, path, { ...call, requestId: request.id })
    },
    /** Sends the page for an API failure: sign in again on 401, else the problem in words. */
    failure (request: FastifyRequest, reply: FastifyReply, session: Session, answer: ApiAnswer<unknown>, title = 'Something went wrong'): FastifyReply {
      if (answer.status === 401) return sessions.signInAgain(request, reply, 'Your sign-in expired or was revoked; sign in again.')
      const status = answer.status >= 400 && answer.status < 600 ? answer.status : 502
      return sessions.page(reply, status, layout({ title, session }, problemPage(title, problemSentence(answer))))
    },
    render (reply: FastifyReply, frame: PageFrame, body: SafeHtml, status = 200): FastifyReply {
      return sessions.page(reply, status, layout(frame, body))
    }
  }
}

const ASSET_CACHE = 'public, max-age=3600'

const pageRoutes: FastifyPluginAsync<{ callApi: CallApi }> = async (app, { callApi }) => {
  const pages = apiPages(app, callApi)

  app.get(consolePaths.asset, async (request, reply) => {
    const { file } = request.params as { file: string }
    if (file === 'console.css') return reply.header('cache-control', ASSET_CACHE).type('text/css; charset=utf-8').send(consoleStyles)
    if (file === 'console.js') return reply.header('cache-control', ASSET_CACHE).type('text/javascript; charset=utf-8').send(consoleScript)
    return reply.code(404).type('text/plain; charset=utf-8').send('Not found')
  })

  app.get(consolePaths.overview, async (request, reply) => {
    if (!request.session) {
      const signedOut = (request.query as Record<string, unknown>).signedOut === '1'
      return pages.render(reply, { title: 'Sign in' }, signedOutPage(signedOut ? 'You are signed out.' : undefined))
    }
    const session = request.session
    // The figures in one call to the metrics API; the newest critical findings from the list API.
    const [metrics, critical] = await Promise.all([
      pages.call<MetricsView>(request, session, '/v1/metrics', { query: new URLSearchParams({ window: `${OVERVIEW_WINDOW_DAYS}d` }) }),
      pages.call<ListPage<RecordView>>(request, session, '/v1/records', { query: new URLSearchParams({ status: activeStatuses.join(','), severity: 'critical', limit: '5' }) })
    ])
    const failed = [metrics, critical].find((answer) => answer.status !== 200)
    if (failed) return pages.failure(request, reply, session, failed, 'Overview unavailable')
    return pages.render(reply, { title: 'Overview', session, current: 'overview' }, overviewPage({ metrics: metrics.body, newestCritical: critical.body.items }))
  })

  app.get(consolePaths.queue, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const filters = readFilters(request.query as Record<string, unknown>)
    const answer = await pages.call<ListPage<RecordView>>(request, session, '/v1/records', { query: apiQuery(filters) })
    if (answer.status !== 200) return pages.failure(request, reply, session, answer, 'The queue could not be shown')
    return pages.render(reply, { title: 'Queue', session, current: 'queue' }, queuePage({ filters, items: answer.body.items, nextCursor: answer.body.nextCursor, canWrite: session.scopes.includes('records:write') }))
  })

  app.get(consolePaths.record, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const { id } = request.params as { id: string }
    const [record, history] = await Promise.all([
      pages.call<RecordView>(request, session, `/v1/records/${encodeURIComponent(id)}`),
      pages.call<ListPage<HistoryEntryView>>(request, session, `/v1/records/${encodeURIComponent(id)}/history`, { query: new URLSearchParams({ limit: '100' }) })
    ])
    if (record.status !== 200) return pages.failure(request, reply, session, record, 'Record not shown')
    return pages.render(reply, { title: record.body.title, session, current: 'queue' }, recordPage({ record: record.body, history: history.status === 200 ? history.body.items : [], canWrite: session.scopes.includes('records:write') }))
  })

  app.get(consolePaths.importForm, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    if (!session.scopes.includes('records:write')) return pages.render(reply, { title: 'Import', session, current: 'import' }, problemPage('Import', 'You have read-only access: importing needs the records:write scope.'), 403)
    return pages.render(reply, { title: 'Import', session, current: 'import' }, importForm())
  })

  app.get(consolePaths.importProgress, async (request, reply) => {
    const session = pages.session(request, reply)
    if (!session) return reply
    const { id } = request.params as { id: string }
    const answer = await pages.call<ImportView>(request, session, `/v1/imports/${encodeURIComponent(id)}`)
    if (answer.status !== 200) return pages.failure(request, reply, session, answer, 'Import not shown')
    const finished = answer.body.status === 'succeeded' || answer.body.status === 'failed'
    return pages.render(reply, { title: 'Import', session, current: 'import', ...(finished ? {} : { refreshSeconds: 1 }) }, importProgressPage(answer.body))
  })
}

export default pageRoutes
