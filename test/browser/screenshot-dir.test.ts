import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import t from 'tap'
import { COMMITTED_SCREENSHOTS, screenshotDir } from './screenshot-dir.ts'

const root = new URL('../../', import.meta.url).pathname

t.test('a browser walk leaves the committed screenshots as they are, unless told to update them', async (t) => {
  const dir = screenshotDir([], {})
  t.ok(dir.startsWith(tmpdir()), `by default under ${tmpdir()}: ${dir}`)
  t.notOk(resolve(dir).startsWith(root), 'outside the working tree')
  t.equal(screenshotDir(['--update'], {}), COMMITTED_SCREENSHOTS, '--update writes the committed ones')
  t.equal(COMMITTED_SCREENSHOTS, resolve(root, 'openapi/screenshots') + '/')
  t.equal(screenshotDir(['--update'], { SCREENSHOT_DIR: '/tmp/elsewhere' }), '/tmp/elsewhere', 'SCREENSHOT_DIR wins')
})
