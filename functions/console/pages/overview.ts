import { html, type SafeHtml } from '../../../shared/html/html.ts'
import { severities } from '../../../shared/records/vocabulary.ts'
import { activeStatuses } from '../../../shared/records/workflow.ts'
import { consolePaths, pathOf } from '../endpoints.ts'
import type { MetricsView, RecordView } from '../api-types.ts'
import { when } from './layout.ts'
import { queueUrl, readFilters } from './queue.ts'

/** The window of the remediation and SLA figures the overview asks the metrics API for. */
export const OVERVIEW_WINDOW_DAYS = 30

export interface OverviewContent {
  metrics: MetricsView
  newestCritical: RecordView[]
}

const activeFilters = readFilters({ status: [...activeStatuses] })

/** A duration in the unit a person reads it in; a dash when there is none. */
export function duration (seconds: number | null): string {
  if (seconds === null) return '—'
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min`
  if (seconds < 2 * 86_400) return `${Math.round(seconds / 3600)} h`
  return `${(seconds / 86_400).toFixed(1)} days`
}

const percent = (share: number | null) => share === null ? '—' : `${Math.round(share * 100)} %`

/** Opened and resolved per week, the last week ending on the trend's last day. */
export function weeks (trend: MetricsView['trend']): Array<{ from: string, to: string, opened: number, resolved: number }> {
  const days = trend ?? []
  const out = []
  for (let end = days.length; end > 0; end -= 7) {
    const week = days.slice(Math.max(0, end - 7), end)
    out.unshift({ from: week[0]!.day, to: week.at(-1)!.day, opened: week.reduce((sum, day) => sum + day.opened, 0), resolved: week.reduce((sum, day) => sum + day.resolved, 0) })
  }
  return out
}

/** A bar as wide as its share of the largest figure: SVG attributes, so the strict CSP holds. */
const bar = (value: number, largest: number, kind: 'opened' | 'resolved') =>
  html`<svg class="bar" aria-hidden="true" focusable="false" width="120" height="10"><rect class="bar-${kind}" width="${largest === 0 ? 0 : Math.round(120 * value / largest)}" height="10"/></svg>`

export function overviewPage ({ metrics, newestCritical }: OverviewContent): SafeHtml {
  const trend = weeks(metrics.trend)
  const largest = Math.max(0, ...trend.flatMap((week) => [week.opened, week.resolved]))
  const topAssets = metrics.topAssets ?? []
  return html`<h1>Overview</h1>
<p class="hint">Figures as of ${when(metrics.asOf)}; a change shows here once it is counted (seconds).</p>
<section aria-labelledby="open-heading"><h2 id="open-heading">Open findings by severity</h2>
${metrics.open.total === 0 ? html`<p class="empty">No open findings.</p>` : ''}
<ul class="tiles">${severities.map((severity) => html`<li><a href="${queueUrl({ ...activeFilters, severity: [severity] })}"><span class="sev sev-${severity}">${severity}</span> <strong>${metrics.open.bySeverity[severity]}</strong></a></li>`)}
<li><a href="${queueUrl({ ...activeFilters, overdue: true })}"><span class="sev overdue">overdue</span> <strong>${metrics.overdue.total}</strong></a></li></ul>
</section>
<section aria-labelledby="sla-heading"><h2 id="sla-heading">Remediation, last ${metrics.window.days} days</h2>
<div class="scroll"><table class="figures">
<thead><tr><th scope="col">Severity</th><th scope="col">SLA</th><th scope="col">Resolved</th><th scope="col">In time</th><th scope="col">Compliance</th><th scope="col">Median time to remediate</th><th scope="col">p90</th><th scope="col">Open past due</th></tr></thead>
<tbody>${severities.map((severity) => {
  const sla = metrics.sla?.[severity]
  const remediation = metrics.remediation?.[severity]
  return html`<tr><th scope="row"><span class="sev sev-${severity}">${severity}</span></th><td>${sla?.days === null || sla === undefined ? 'none' : `${sla.days} days`}</td><td>${remediation?.resolved ?? 0}</td><td>${sla?.resolvedInTime ?? 0}</td><td>${percent(sla?.compliance ?? null)}</td><td>${duration(remediation?.medianSeconds ?? null)}</td><td>${duration(remediation?.p90Seconds ?? null)}</td><td>${metrics.overdue.bySeverity[severity]}</td></tr>`
})}</tbody></table></div>
</section>
<section aria-labelledby="trend-heading"><h2 id="trend-heading">Opened and resolved per week</h2>
${largest === 0
  ? html`<p class="empty">Nothing opened or resolved since ${trend[0]?.from ?? metrics.window.from}.</p>`
  : html`<div class="scroll"><table class="figures trend">
<thead><tr><th scope="col">Week</th><th scope="col">Opened</th><th scope="col">Resolved</th></tr></thead>
<tbody>${trend.map((week) => html`<tr><th scope="row">${week.from} – ${week.to}</th><td><span class="num">${week.opened}</span> ${bar(week.opened, largest, 'opened')}</td><td><span class="num">${week.resolved}</span> ${bar(week.resolved, largest, 'resolved')}</td></tr>`)}</tbody></table></div>`}
</section>
<section aria-labelledby="assets-heading"><h2 id="assets-heading">Assets with the most open findings</h2>
${topAssets.length === 0
  ? html`<p class="empty">No asset has open findings.</p>`
  : html`<ol class="list">${topAssets.map((asset) => html`<li><a href="${queueUrl({ ...activeFilters, asset: asset.name })}">${asset.name}</a> — ${asset.open} open</li>`)}</ol>`}
</section>
<section aria-labelledby="critical-heading"><h2 id="critical-heading">Newest critical</h2>
${newestCritical.length === 0
  ? html`<p class="empty">No open critical findings.</p>`
  : html`<ul class="list">${newestCritical.map((record) => html`<li><a href="${pathOf(consolePaths.record, record.id)}">${record.title}</a> — ${record.asset?.name}, ${when(record.createdAt)}</li>`)}</ul>`}
</section>`
}
