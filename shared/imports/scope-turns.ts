import type { ImportState } from '../store/imports-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import { formatNamed } from './formats.ts'
import { importScopes } from './get-import.ts'
import { scopeKey } from './import-scope.ts'

/**
 * Imports of one scope apply one at a time, in the order they were received: otherwise two
 * reports sent together each resolve what the other reported. Each scope has a line (an item of
 * its own, written with atomic counter and set updates, never a transaction): an import joins it
 * once received, may apply only while it stands first in every line it is in, and leaves once it
 * has finished. Nothing in a line expires: an import before this one that nobody advances is
 * taken up by the sweeper and ends (succeeded, or failed after its attempts), and one found
 * finished (its processor died before leaving) is taken out by whoever comes next.
 */

const importIdOf = (place: string) => place.slice(place.indexOf('|') + 1)

function lineKeys (state: ImportState): string[] {
  return importScopes(state).map((scope) => scopeKey(formatNamed(state.format).name, scope, state.asset))
}

/** Joins the lines of a received import's scopes. */
export async function joinScopeLines (data: DataLayer, state: ImportState): Promise<void> {
  for (const key of lineKeys(state)) await data.imports.joinLine(state.tenant, key, state.id)
}

/** Whether the import stands first in every line of its scopes (it joins one it is missing from: a receive that died between two writes). */
export async function isTurnOf (data: DataLayer, state: ImportState): Promise<boolean> {
  for (const key of lineKeys(state)) {
    let line = await data.imports.line(state.tenant, key)
    if (!line.some((place) => importIdOf(place) === state.id)) line = await data.imports.joinLine(state.tenant, key, state.id)
    for (let first = line[0]; first !== undefined && importIdOf(first) !== state.id; first = line[0]) {
      const before = await data.imports.get(state.tenant, importIdOf(first))
      if (before && (before.status === 'queued' || before.status === 'running')) return false
      line = await data.imports.leaveLine(state.tenant, key, [first])
    }
  }
  return true
}

/** Leaves the lines of a finished import's scopes; returns the imports whose turn it may now be. */
export async function leaveScopeLines (data: DataLayer, state: ImportState): Promise<string[]> {
  const next = new Set<string>()
  for (const key of lineKeys(state)) {
    const own = (await data.imports.line(state.tenant, key)).filter((place) => importIdOf(place) === state.id)
    const [first] = await data.imports.leaveLine(state.tenant, key, own)
    if (first !== undefined) next.add(importIdOf(first))
  }
  return [...next]
}
