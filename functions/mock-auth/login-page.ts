import { html, type SafeHtml } from '../../shared/html/html.ts'

export interface LoginPageContent {
  /** Where the form posts: the authorization endpoint. */
  action: string
  /** The authorization request's parameters, sent again with the sign-in. */
  parameters: Record<string, string>
  clientId: string
  username?: string
  error?: string
}

/** The sign-in form of the authorization endpoint: no script, no style, nothing from another origin. */
export function loginPage ({ action, parameters, clientId, username, error }: LoginPageContent): SafeHtml {
  return page('Sign in', html`
<h1>Sign in to security-records</h1>
<p><strong>${clientId}</strong> asks to act on your behalf.</p>
${error ? html`<p role="alert" id="sign-in-error">${error}</p>` : ''}
<form method="post" action="${action}">
${Object.entries(parameters).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<p><label for="username">Username</label><br><input id="username" name="username" autocomplete="username" required maxlength="64" value="${username ?? ''}" ${error ? html`aria-describedby="sign-in-error"` : ''} autofocus></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="512"></p>
<p><button type="submit">Sign in</button></p>
</form>`)
}

/** A page for an authorization request that cannot be answered at its redirect URI. */
export function errorPage (message: string): SafeHtml {
  return page('Cannot sign in', html`<h1>Cannot sign in</h1><p role="alert">${message}</p>`)
}

function page (title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · security-records</title></head>
<body><main>${body}</main></body>
</html>
`
}
