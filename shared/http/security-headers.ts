/**
 * The security headers of a JSON API, on every answer (successes, problems and the raw answers
 * Node's parser errors get): nothing may be framed, scripted, sniffed or cached by a browser as a
 * page. Written out rather than taken from helmet, whose defaults are a web page's.
 */
const API_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen'
} as const

export type SecurityHeaderOverrides = Partial<Record<keyof typeof API_SECURITY_HEADERS, string>>

export function securityHeaders (overrides: SecurityHeaderOverrides = {}): Record<string, string> {
  return { ...API_SECURITY_HEADERS, ...overrides }
}
