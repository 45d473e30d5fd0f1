import { html, type SafeHtml } from '../../../shared/html/html.ts'
import { importFormatLabels } from '../../../shared/records/import-formats.ts'
import { assetTypes, environments } from '../../../shared/records/vocabulary.ts'
import { consolePaths, pathOf } from '../endpoints.ts'
import type { ImportView } from '../api-types.ts'
import { label, when } from './layout.ts'
import { queueUrl, readFilters } from './queue.ts'

/** "a, b or c" */
const oneOf = (words: readonly string[]) => words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`

/** The reports the import takes, as a person names them (`SARIF 2.1.0 log or CycloneDX 1.4/1.5/1.6 BOM`). */
export const importedReports = oneOf(importFormatLabels.map((format) => `${format.title} ${format.document}`))

export function importForm (): SafeHtml {
  const endings = [...new Set(importFormatLabels.flatMap((format) => format.extensions))]
  const accept = [...endings, ...new Set(importFormatLabels.flatMap((format) => format.mediaTypes))].join(',')
  return html`<h1>Import a ${importedReports}</h1>
<p>Every finding of the report becomes a record of the asset. The next report of the same tool and asset resolves what it no longer reports; a person's decision is never overridden.</p>
<form method="post" action="${consolePaths.importForm}" enctype="multipart/form-data" class="import">
<label>${importedReports} (${oneOf(endings)}, up to 10 MB) <input type="file" name="report" accept="${accept}" required></label>
<label>Asset name <input name="asset" required maxlength="200"></label>
<label>Asset type <select name="assetType">${assetTypes.map((type) => html`<option value="${type}"${type === 'repository' ? html` selected` : ''}>${label(type)}</option>`)}</select></label>
<label>Environment <select name="environment"><option value="">none</option>${environments.map((environment) => html`<option value="${environment}">${environment}</option>`)}</select></label>
<button type="submit">Upload and import</button>
</form>`
}

export function importProgressPage (state: ImportView): SafeHtml {
  const counts = state.counts
  const done = counts.created + counts.updated + counts.unchanged + counts.rejected
  const finished = state.status === 'succeeded' || state.status === 'failed'
  const assetName = state.asset?.name
  return html`<h1>Import ${state.tool?.name ?? ''}</h1>
<p role="status" id="import-status">Status: <strong>${state.status}</strong>${finished ? html` at ${when(state.finishedAt)}` : ' — this page refreshes itself'}</p>
<p><label for="import-progress">Progress</label> <progress id="import-progress" max="${counts.results || 1}" value="${finished ? counts.results || 1 : done}">${done} of ${counts.results ?? '?'}</progress> ${done} of ${counts.results ?? '?'} results</p>
<dl class="counts">${(['results', 'created', 'updated', 'unchanged', 'resolved', 'reopened', 'rejected'] as const).map((name) => html`<dt>${name}</dt><dd>${counts[name] ?? 0}</dd>`)}</dl>
${state.errors.length ? html`<h2>Problems</h2><ul>${state.errors.slice(0, 20).map((error) => html`<li>${error.path ? html`<code>${error.path}</code>: ` : ''}${error.message}</li>`)}</ul>` : ''}
${finished && assetName ? html`<p><a href="${queueUrl({ ...readFilters({}), asset: assetName })}">Records of ${assetName}</a></p>` : ''}`
}

export interface BulkOutcome {
  id: string
  title: string
  outcome: 'updated' | 'conflict' | 'refused' | 'unchanged'
  detail?: string
}

export function bulkResultPage (outcomes: BulkOutcome[], back: string): SafeHtml {
  const conflicts = outcomes.filter((entry) => entry.outcome !== 'updated' && entry.outcome !== 'unchanged')
  return html`<h1>Bulk triage</h1>
<p role="status">${outcomes.filter((entry) => entry.outcome === 'updated').length} of ${outcomes.length} records changed${conflicts.length ? html`; <strong>${conflicts.length} not changed</strong>, listed below — nothing was overwritten` : ''}.</p>
<ul class="list">${outcomes.map((entry) => html`<li class="${entry.outcome}"><a href="${pathOf(consolePaths.record, entry.id)}">${entry.title}</a>: ${entry.outcome === 'updated' ? 'changed' : entry.outcome === 'unchanged' ? 'already so' : entry.outcome === 'conflict' ? 'changed by someone else since you selected it; open it to re-apply' : 'refused'}${entry.detail ? html` — ${entry.detail}` : ''}</li>`)}</ul>
<p><a href="${back}">Back to the queue</a></p>`
}

export function signedOutPage (message?: string): SafeHtml {
  return html`<h1>security-records console</h1>
${message ? html`<p>${message}</p>` : ''}
<p><a class="button" href="${consolePaths.signIn}">Sign in</a></p>`
}

export function problemPage (title: string, sentence: string): SafeHtml {
  return html`<h1>${title}</h1><p role="alert" class="notice error">${sentence}</p><p><a href="${consolePaths.overview}">Overview</a> · <a href="${consolePaths.queue}">Queue</a></p>`
}
