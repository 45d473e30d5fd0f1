import { html, type SafeHtml } from '../../../shared/html/html.ts'
import { severities } from '../../../shared/records/vocabulary.ts'
import { activeStatuses, statusesNeedingReason, statusTransitions } from '../../../shared/records/workflow.ts'
import { consolePaths, pathOf } from '../endpoints.ts'
import type { HistoryActor, HistoryEntryView, RecordView } from '../api-types.ts'
import { label, when } from './layout.ts'

/** What a person asked to change on the record page: the form's fields, compared with what they saw. */
export interface TriageInput {
  status: string
  statusReason: string
  duplicateOf: string
  riskExpiresAt: string
  assignee: string
  severity: string
}

export interface RecordContent {
  record: RecordView
  history: HistoryEntryView[]
  canWrite: boolean
  /** A 412: the change the person made, to re-apply on the record as it is now, and who changed it since. */
  conflict?: { input: TriageInput, since: HistoryEntryView[] } | undefined
}

const json = (value: unknown) => value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value)

/** Who made a history entry: the person's name (or id) and the client they used. */
export function actorLabel (actor: HistoryActor | undefined): string {
  if (!actor) return 'someone'
  if (actor.type === 'user') return `${actor.name ?? actor.id} (via ${actor.clientId})`
  return `client ${actor.id}`
}

export function recordPage ({ record, history, canWrite, conflict }: RecordContent): SafeHtml {
  const overdue = record.dueAt !== undefined && Date.parse(record.dueAt) < Date.now() && activeStatuses.includes(record.status)
  const field = (name: string, value: SafeHtml | string | undefined) => html`<dt>${name}</dt><dd>${value === undefined || value === '' ? '—' : value}</dd>`
  return html`<p><a href="${consolePaths.queue}">← Queue</a></p>
<h1>${record.title}</h1>
<p class="meta"><span class="sev sev-${record.severity}">${record.severity}</span> · ${label(record.status)} · version ${record.version}</p>
${conflict ? conflictNotice(record, conflict) : ''}
<div class="columns">
<section aria-labelledby="fields-heading">
<h2 id="fields-heading">Fields</h2>
<dl class="fields-list">
${field('Id', html`<code>${record.id}</code>`)}
${field('Category', label(record.category))}
${field('Severity', record.severity)}
${field('CVSS', record.cvss ? html`<code>${record.cvss.vector}</code> — score ${record.cvss.baseScore} (${record.cvss.version}, ${record.cvss.severity})` : undefined)}
${field('Status', label(record.status))}
${field('Reason', record.statusReason)}
${field('Duplicate of', record.duplicateOf ? html`<a href="${pathOf(consolePaths.record, record.duplicateOf)}">${record.duplicateOf}</a>` : undefined)}
${field('Risk accepted', record.riskAcceptance ? `until ${when(record.riskAcceptance.expiresAt)} by ${record.riskAcceptance.approvedBy}` : undefined)}
${field('Asset', `${record.asset.name} (${label(record.asset.type)}${record.asset.environment ? `, ${record.asset.environment}` : ''})${record.asset.purl ? ` ${record.asset.purl}` : ''}`)}
${field('Assignee', record.assignee)}
${field('Due', record.dueAt ? html`${when(record.dueAt)}${overdue ? html` <strong class="overdue">overdue</strong>` : ''}` : 'no deadline')}
${field('Vulnerabilities', (record.vulnerabilityIds ?? []).join(', '))}
${field('Weaknesses', (record.cweIds ?? []).join(', '))}
${field('Tags', (record.tags ?? []).join(', '))}
${field('References', record.references?.length ? html`<ul>${record.references.map((url: string) => html`<li><a href="${url}" rel="noreferrer noopener">${url}</a></li>`)}</ul>` : undefined)}
${field('Source', record.source ? `${record.source.tool}${record.source.ruleId ? ` / ${record.source.ruleId}` : ''}${record.source.scanId ? ` (import ${record.source.scanId})` : ''}` : undefined)}
${field('Fingerprint', record.fingerprint)}
${field('Created', `${when(record.createdAt)} by ${record.createdBy}`)}
${field('Updated', `${when(record.updatedAt)} by ${record.updatedBy}`)}
</dl>
${record.description ? html`<h2>Description</h2><pre class="description">${record.description}</pre>` : ''}
</section>
<section aria-labelledby="triage-heading">
${canWrite ? triageForm(record, conflict?.input) : html`<h2 id="triage-heading">Triage</h2><p>You have read-only access.</p>`}
<h2>History</h2>
${timeline(history)}
</section>
</div>`
}

function conflictNotice (record: RecordView, conflict: { input: TriageInput, since: HistoryEntryView[] }): SafeHtml {
  const who = [...new Set(conflict.since.map((entry) => actorLabel(entry.actor)))].join(', ') || 'someone'
  return html`<div class="notice error" role="alert"><p><strong>Changed by ${who} since you opened it.</strong> Your change was not saved. What changed:</p>
${timeline(conflict.since)}
<p>The form below holds your change on top of version ${record.version}; check it and save again to re-apply.</p></div>`
}

function timeline (entries: HistoryEntryView[]): SafeHtml {
  if (entries.length === 0) return html`<p class="empty">No history.</p>`
  return html`<ol class="timeline">${entries.map((entry) => html`<li><p><strong>${entry.action}</strong> (version ${entry.version}) by ${actorLabel(entry.actor)}, ${when(entry.at)}</p>
${entry.changes.length ? html`<ul>${entry.changes.map((change) => html`<li><code>${change.path}</code>: ${json(change.from)} → ${json(change.to)}</li>`)}</ul>` : ''}</li>`)}</ol>`
}

function triageForm (record: RecordView, input?: TriageInput): SafeHtml {
  const allowed = [record.status, ...statusTransitions[record.status]]
  const value = (name: keyof TriageInput, current: string) => input ? input[name] : current
  const status = value('status', record.status)
  return html`<h2 id="triage-heading">Triage</h2>
<form method="post" action="${pathOf(consolePaths.record, record.id)}" class="triage">
<input type="hidden" name="version" value="${record.version}">
<label>Status <select name="status" id="status">${allowed.map((option) => html`<option value="${option}"${option === status ? html` selected` : ''}>${label(option)}${statusesNeedingReason.includes(option) ? ' (needs a reason)' : ''}</option>`)}</select></label>
<label>Reason <textarea name="statusReason" maxlength="2000" rows="2">${value('statusReason', record.statusReason ?? '')}</textarea></label>
<p class="hint">A reason is required for: ${statusesNeedingReason.map(label).join(', ')}.</p>
<label>Duplicate of (record id, for duplicate) <input name="duplicateOf" value="${value('duplicateOf', record.duplicateOf ?? '')}" maxlength="64"></label>
<label>Risk accepted until (for accepted risk) <input type="date" name="riskExpiresAt" value="${value('riskExpiresAt', record.riskAcceptance?.expiresAt?.slice(0, 10) ?? '')}"></label>
<label>Assignee <input name="assignee" value="${value('assignee', record.assignee ?? '')}" maxlength="200"></label>
<label>Severity <select name="severity">${severities.map((severity) => html`<option value="${severity}"${severity === value('severity', record.severity) ? html` selected` : ''}>${severity}</option>`)}</select></label>
<button type="submit">${input ? 'Re-apply my change' : 'Save'}</button>
</form>`
}

/** The merge patch for what the form changed, relative to the record the person saw. */
export function triagePatch (record: Pick<RecordView, 'status' | 'severity'> & Partial<Pick<RecordView, 'statusReason' | 'assignee' | 'cvss'>>, input: TriageInput, person: string): Record<string, unknown> {
  const patch: Record<string, unknown> = {}
  if (input.status && input.status !== record.status) {
    patch.status = input.status
    if (input.status === 'duplicate') patch.duplicateOf = input.duplicateOf || null
    if (input.status === 'accepted_risk') patch.riskAcceptance = input.riskExpiresAt ? { expiresAt: /^\d{4}-\d{2}-\d{2}$/.test(input.riskExpiresAt) ? `${input.riskExpiresAt}T23:59:59Z` : input.riskExpiresAt, approvedBy: person } : null
  }
  if (input.statusReason !== (record.statusReason ?? '') || (patch.status && statusesNeedingReason.includes(patch.status as never))) patch.statusReason = input.statusReason || null
  if (input.assignee !== (record.assignee ?? '')) patch.assignee = input.assignee || null
  if (input.severity && input.severity !== record.severity && !record.cvss) patch.severity = input.severity
  return patch
}
