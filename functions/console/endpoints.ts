import type { FunctionRoute } from '../../shared/routing-table.ts'

export const CONSOLE_FUNCTION = 'console'

/** Every path the console answers, in one table: its routes, its links and the gateway's routing derive from it. */
export const consolePaths = {
  overview: '/console',
  queue: '/console/records',
  record: '/console/records/:id',
  bulk: '/console/bulk',
  importForm: '/console/import',
  importProgress: '/console/imports/:id',
  signIn: '/console/signin',
  callback: '/console/callback',
  signOut: '/console/signout',
  asset: '/console/assets/:file'
} as const

/** The console's routes for the gateway and the ingress: it checks its own session cookie, never a bearer token. */
export const consoleRoutes: readonly FunctionRoute[] = [
  { method: 'GET', path: consolePaths.overview },
  { method: 'GET', path: consolePaths.queue },
  { method: 'GET', path: consolePaths.record },
  { method: 'POST', path: consolePaths.record },
  { method: 'POST', path: consolePaths.bulk },
  { method: 'GET', path: consolePaths.importForm },
  { method: 'POST', path: consolePaths.importForm },
  { method: 'GET', path: consolePaths.importProgress },
  { method: 'GET', path: consolePaths.signIn },
  { method: 'GET', path: consolePaths.callback },
  { method: 'POST', path: consolePaths.signOut },
  { method: 'GET', path: consolePaths.asset }
].map((route) => ({ function: CONSOLE_FUNCTION, authenticated: false, ...route }) as FunctionRoute)

/** A console path with its `:id` filled in. */
export function pathOf (path: string, id: string): string {
  return path.replace(':id', encodeURIComponent(id))
}
