import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The committed screenshots the README links to. */
export const COMMITTED_SCREENSHOTS = fileURLToPath(new URL('../../openapi/screenshots/', import.meta.url))

/**
 * Where the browser walk keeps its screenshots: a folder outside the working tree, so a run
 * leaves the committed ones as they are; `--update` replaces the committed ones (a change to /docs
 * that should show), SCREENSHOT_DIR names any other folder.
 */
export function screenshotDir (argv: readonly string[], env: Record<string, string | undefined>, committed = COMMITTED_SCREENSHOTS, scratch = 'security-records-screenshots'): string {
  if (env.SCREENSHOT_DIR) return resolve(env.SCREENSHOT_DIR)
  if (argv.includes('--update')) return committed
  return join(tmpdir(), scratch)
}
