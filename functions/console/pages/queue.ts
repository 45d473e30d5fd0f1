import { html, type SafeHtml } from '../../../shared/html/html.ts'
import { categories, severities, statuses } from '../../../shared/records/vocabulary.ts'
import { activeStatuses } from '../../../shared/records/workflow.ts'
import { consolePaths, pathOf } from '../endpoints.ts'
import type { RecordView } from '../api-types.ts'
import { label, when } from './layout.ts'

/** The queue's filters, exactly the list API's, as the page's URL carries them. */
export interface QueueFilters {
  status: string[]
  severity: string[]
  category: string
  asset: string
  tag: string
  vulnerabilityId: string
  overdue: boolean
  order: 'desc' | 'asc'
  limit: number
  cursor: string
}

const many = (value: unknown): string[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((item) => String(item).split(',')).filter(Boolean)
const one = (value: unknown): string => (Array.isArray(value) ? String(value[0] ?? '') : String(value ?? '')).slice(0, 300)

/** Reads the filters from the page's query string; what the API refuses it explains itself. */
export function readFilters (query: Record<string, unknown>): QueueFilters {
  const limit = Number(one(query.limit) || 25)
  return {
    status: many(query.status).filter((status) => (statuses as readonly string[]).includes(status)),
    severity: many(query.severity).filter((severity) => (severities as readonly string[]).includes(severity)),
    category: one(query.category),
    asset: one(query.asset),
    tag: one(query.tag),
    vulnerabilityId: one(query.vulnerabilityId),
    overdue: one(query.overdue) === 'true',
    order: one(query.order) === 'asc' ? 'asc' : 'desc',
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 25,
    cursor: one(query.cursor).slice(0, 1024)
  }
}

/** The list API's query for these filters. */
export function apiQuery (filters: QueueFilters): URLSearchParams {
  const query = new URLSearchParams()
  if (filters.status.length) query.set('status', filters.status.join(','))
  if (filters.severity.length) query.set('severity', filters.severity.join(','))
  for (const name of ['category', 'asset', 'tag', 'vulnerabilityId'] as const) if (filters[name]) query.set(name, filters[name])
  if (filters.overdue) query.set('overdue', 'true')
  query.set('order', filters.order)
  query.set('limit', String(filters.limit))
  if (filters.cursor) query.set('cursor', filters.cursor)
  return query
}

/** The page's own URL for these filters (shareable; the back button walks through them). */
export function queueUrl (filters: QueueFilters, cursor = ''): string {
  const query = new URLSearchParams()
  for (const status of filters.status) query.append('status', status)
  for (const severity of filters.severity) query.append('severity', severity)
  for (const name of ['category', 'asset', 'tag', 'vulnerabilityId'] as const) if (filters[name]) query.set(name, filters[name])
  if (filters.overdue) query.set('overdue', 'true')
  if (filters.order !== 'desc') query.set('order', filters.order)
  if (filters.limit !== 25) query.set('limit', String(filters.limit))
  if (cursor) query.set('cursor', cursor)
  const search = query.toString()
  return search ? `${consolePaths.queue}?${search}` : consolePaths.queue
}

export interface QueueContent {
  filters: QueueFilters
  items: RecordView[]
  nextCursor: string | null
  canWrite: boolean
}

function checkboxes (name: string, values: readonly string[], chosen: string[]): SafeHtml {
  return html`<fieldset class="choices"><legend>${name === 'status' ? 'Status' : 'Severity'}</legend>${values.map((value) => html`<label><input type="checkbox" name="${name}" value="${value}"${chosen.includes(value) ? html` checked` : ''}> ${label(value)}</label>`)}</fieldset>`
}

export function queuePage ({ filters, items, nextCursor, canWrite }: QueueContent): SafeHtml {
  const now = Date.now()
  return html`<h1>Queue</h1>
<form class="filters" method="get" action="${consolePaths.queue}" aria-label="Filters">
${checkboxes('status', statuses, filters.status)}
${checkboxes('severity', severities, filters.severity)}
<div class="fields">
<label>Category <select name="category"><option value="">any</option>${categories.map((category) => html`<option value="${category}"${filters.category === category ? html` selected` : ''}>${label(category)}</option>`)}</select></label>
<label>Asset <input name="asset" value="${filters.asset}" maxlength="200"></label>
<label>Tag <input name="tag" value="${filters.tag}" maxlength="63"></label>
<label>Vulnerability id <input name="vulnerabilityId" value="${filters.vulnerabilityId}" maxlength="100" placeholder="CVE-2024-3094"></label>
<label><input type="checkbox" name="overdue" value="true"${filters.overdue ? html` checked` : ''}> Overdue only</label>
<label>Order <select name="order"><option value="desc"${filters.order === 'desc' ? html` selected` : ''}>newest first</option><option value="asc"${filters.order === 'asc' ? html` selected` : ''}>oldest first</option></select></label>
<label>Per page <select name="limit">${[10, 25, 50, 100].map((size) => html`<option${filters.limit === size ? html` selected` : ''}>${size}</option>`)}</select></label>
</div>
<p><button type="submit">Apply filters</button> <a href="${consolePaths.queue}">Clear</a> <a href="${queueUrl({ ...filters, status: [...activeStatuses], cursor: '' })}">Active only</a></p>
</form>
${items.length === 0
  ? html`<p class="empty" role="status">No records match these filters${filters.cursor ? ' on this page' : ''}.</p>`
  : html`<form method="post" action="${consolePaths.bulk}" id="bulk">
<p role="status">${items.length} record${items.length === 1 ? '' : 's'} on this page${nextCursor ? ', more on the next' : ''}. Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> opens${canWrite ? html`, <kbd>x</kbd> selects` : ''}.</p>
<div class="scroll"><table class="queue">
<caption class="visually-hidden">Records</caption>
<thead><tr>${canWrite ? html`<th scope="col"><span class="visually-hidden">Select</span></th>` : ''}<th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Status</th><th scope="col">Asset</th><th scope="col">Assignee</th><th scope="col">Due</th><th scope="col">Created</th></tr></thead>
<tbody>
${items.map((record) => {
  const overdue = record.dueAt !== undefined && Date.parse(record.dueAt) < now && activeStatuses.includes(record.status)
  return html`<tr data-href="${pathOf(consolePaths.record, record.id)}">
${canWrite ? html`<td><input type="checkbox" name="record" value="${record.id}:${record.version}" aria-label="Select ${record.title}"></td>` : ''}
<td><a href="${pathOf(consolePaths.record, record.id)}">${record.title}</a></td>
<td><span class="sev sev-${record.severity}">${record.severity}</span></td>
<td>${label(record.status)}</td>
<td>${record.asset?.name}</td>
<td>${record.assignee ?? '—'}</td>
<td${overdue ? html` class="overdue"` : ''}>${record.dueAt ? when(record.dueAt).slice(0, 10) : '—'}${overdue ? ' (overdue)' : ''}</td>
<td>${when(record.createdAt)}</td>
</tr>`
})}
</tbody></table></div>
${canWrite ? bulkControls() : ''}
</form>`}
<nav class="pages" aria-label="Pages">${filters.cursor ? html`<a href="${queueUrl(filters)}">First page</a>` : ''} ${nextCursor ? html`<a href="${queueUrl(filters, nextCursor)}" rel="next">Next page</a>` : ''}</nav>`
}

function bulkControls (): SafeHtml {
  return html`<fieldset class="bulk"><legend>Bulk triage of the selected records</legend>
<label>New status <select name="status"><option value="">keep</option>${statuses.map((status) => html`<option value="${status}">${label(status)}</option>`)}</select></label>
<label>Reason <input name="statusReason" maxlength="2000"></label>
<label>Assignee <input name="assignee" maxlength="200"></label>
<button type="submit">Apply to selected</button>
</fieldset>`
}
