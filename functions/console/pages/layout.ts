import { html, type SafeHtml } from '../../../shared/html/html.ts'
import { consolePaths } from '../endpoints.ts'
import type { Session } from '../session.ts'

export interface PageFrame {
  title: string
  session?: Session | undefined
  /** Which navigation entry is the current page. */
  current?: 'overview' | 'queue' | 'import'
  /** Reload the page every so many seconds (an import under way): no script needed. */
  refreshSeconds?: number
  notice?: { kind: 'error' | 'success' | 'info', text: string | SafeHtml } | undefined
}

/** The page shell: one stylesheet, one small script, both from this origin; nothing inline. */
export function layout (frame: PageFrame, body: SafeHtml): string {
  const link = (key: 'overview' | 'queue' | 'import', href: string, label: string) =>
    html`<a href="${href}"${frame.current === key ? html` aria-current="page"` : ''}>${label}</a>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Triage security findings: queue, records, bulk triage and imports.">
${frame.refreshSeconds ? html`<meta http-equiv="refresh" content="${frame.refreshSeconds}">` : ''}
<title>${frame.title} · security-records</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<span class="brand">security-records</span>
${frame.session ? html`<nav aria-label="Main">${link('overview', consolePaths.overview, 'Overview')} ${link('queue', consolePaths.queue, 'Queue')} ${frame.session.scopes.includes('records:write') ? link('import', consolePaths.importForm, 'Import') : ''}</nav>
<form class="who" method="post" action="${consolePaths.signOut}"><span>${frame.session.name} · ${frame.session.tenant}${frame.session.scopes.includes('records:write') ? '' : ' · read-only'}</span> <button type="submit">Sign out</button></form>` : ''}
</header>
<main id="main">
${frame.notice ? html`<p class="notice ${frame.notice.kind}" role="${frame.notice.kind === 'error' ? 'alert' : 'status'}">${frame.notice.text}</p>` : ''}
${body}
</main>
</body>
</html>
`.value
}

/** A value for display: dates in UTC to the minute, absent values as a dash. */
export function when (iso: string | null | undefined): string {
  if (!iso) return '—'
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

export function label (value: string): string {
  return value.replaceAll('_', ' ')
}
