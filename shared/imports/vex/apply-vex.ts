import { v7 as uuidv7 } from 'uuid'
import { IllegalTransitionError, IngestConflictError, invalidReport, InvalidRequestError, PreconditionFailedError } from '../../errors.ts'
import { etagOf } from '../../records/etag.ts'
import type { RecordPatch, SecurityRecord } from '../../records/schema.ts'
import { activeStatuses } from '../../records/workflow.ts'
import type { DataLayer } from '../../operations/data-layer.ts'
import type { RequestContext } from '../../operations/request-context.ts'
import { updateRecord } from '../../operations/update-record.ts'
import { retryOnConflict } from '../../retry-on-conflict.ts'
import { inPool } from '../concurrency.ts'
import { ElementSpool } from '../element-spool.ts'
import type { LogPiece } from '../report-format.ts'
import { clip } from '../sarif/text.ts'
import type { VexDecision, VexFormat, VexProduct, VexStatement } from './vex-document.ts'

/** Statements per document: a VEX of every decision of a large product line fits. */
export const MAX_STATEMENTS = 50_000
/** Statements listed by name in the answer (the counts say how many there were). */
const MAX_LISTED = 100
const ATTEMPTS = 5

export interface VexOutcome {
  id: string
  format: VexFormat['name']
  document: { id?: string, author?: string }
  counts: { statements: number, matched: number, applied: number, unchanged: number, refused: number, unknown: number, ignored: number }
  refused: Array<{ path: string, recordId: string, message: string }>
  unknown: Array<{ path: string, vulnerability: string, products: string[] }>
  ignored: Array<{ path: string, message: string }>
}

/**
 * Applies a VEX document's decisions to the tenant's existing records, through the normal update
 * path (the workflow's rules hold; history names this VEX and its author): each statement's records
 * are those naming its vulnerability whose component (or asset) is one of its products. The
 * tenant's records are read once, whatever the number of statements.
 * Nothing is created: statements about records the tenant does not have are counted and listed.
 */
export async function applyVex (data: DataLayer, context: RequestContext, format: VexFormat, pieces: AsyncIterable<LogPiece>): Promise<VexOutcome> {
  const header: Record<string, unknown> = {}
  const members: Record<string, unknown> = {}
  const raw: Array<[number, unknown]> = []
  const spool = new ElementSpool()
  let listed = false
  for await (const piece of pieces) {
    if (piece.kind === 'header') header[piece.key] = piece.value
    else if (piece.kind === 'results') listed = true
    else if (piece.kind === 'runMember') members[piece.key] = piece.value
    else if (piece.kind === 'element') spool.add(piece.value)
    else if (piece.kind === 'result') {
      if (raw.length >= MAX_STATEMENTS) throw invalidReport([{ path: `/${format.paths.results}`, message: `more than ${MAX_STATEMENTS} statements; split the document` }])
      raw.push([piece.index, JSON.parse(piece.json)])
    }
  }
  const { streamed } = format.paths
  // Of the streamed elements, only those the statements name (all of them where the format names none).
  if (streamed) members[streamed.member] = spool.select(streamed.key, format.contextKeys ? new Set(raw.flatMap(([, value]) => format.contextKeys!(value))) : undefined)
  const problems = format.checkHeader(header, members)
  if (format.resultsRequired && !listed) problems.push({ path: `/${format.paths.results}`, message: 'is required (an empty list where the document states nothing)' })
  if (problems.length > 0) throw invalidReport(problems)
  const id = uuidv7()
  const document = format.origin(header, members)
  const outcome: VexOutcome = { id, format: format.name, document, counts: { statements: raw.length, matched: 0, applied: 0, unchanged: 0, refused: 0, unknown: 0, ignored: 0 }, refused: [], unknown: [], ignored: [] }
  const statements: VexStatement[] = []
  for (const [index, value] of raw) {
    const read = format.statements(value, index, members)
    if (typeof read === 'string') {
      outcome.counts.ignored++
      if (outcome.ignored.length < MAX_LISTED) outcome.ignored.push({ path: `/${format.paths.results}/${index}`, message: read })
    } else statements.push(...read)
  }
  // Each statement's records: one walk of the tenant's records (a filter on vulnerability ids
  // reads them all anyway), each record matched against the statements naming its ids.
  const byVulnerability = new Map<string, Array<{ statement: VexStatement, index: number }>>()
  statements.forEach((statement, index) => {
    const named = byVulnerability.get(statement.vulnerability)
    if (named) named.push({ statement, index })
    else byVulnerability.set(statement.vulnerability, [{ statement, index }])
  })
  const decisions = new Map<string, Array<{ statement: VexStatement, index: number }>>()
  const matched = new Set<number>()
  if (byVulnerability.size > 0) {
    for await (const record of tenantRecords(data, context)) {
      const naming = (record.vulnerabilityIds ?? []).flatMap((vulnerability) => byVulnerability.get(vulnerability) ?? [])
      const applying = naming.filter(({ statement }) => statement.products.some((product) => matches(product, record))).sort((a, b) => a.index - b.index)
      if (applying.length === 0) continue
      decisions.set(record.id, applying)
      for (const { index } of applying) matched.add(index)
    }
  }
  statements.forEach((statement, index) => {
    if (matched.has(index)) return
    outcome.counts.unknown++
    if (outcome.unknown.length < MAX_LISTED) outcome.unknown.push({ path: statement.path, vulnerability: statement.vulnerability, products: statement.products.map((product) => product.purl ?? product.name ?? '') })
  })
  outcome.counts.matched = matched.size
  // Records side by side; the statements about one record in document order.
  await inPool([...decisions.entries()], async ([recordId, applying]) => {
    for (const { statement, index } of applying) {
      const requestContext: RequestContext = { ...context, requestId: `vex:${id}:${index}` }
      try {
        const applied = await decide(data, requestContext, recordId, statement.decision, reasonOf(statement, document, id))
        outcome.counts[applied ? 'applied' : 'unchanged']++
      } catch (error) {
        if (!(error instanceof IllegalTransitionError || error instanceof InvalidRequestError || error instanceof IngestConflictError)) throw error
        outcome.counts.refused++
        if (outcome.refused.length < MAX_LISTED) outcome.refused.push({ path: statement.path, recordId, message: (error as Error).message })
      }
    }
  })
  return outcome
}

/** Every record of the tenant, a page at a time (the list's own Query: never a Scan). */
async function * tenantRecords (data: DataLayer, context: RequestContext): AsyncGenerator<SecurityRecord> {
  let after: string | undefined
  do {
    const page = await data.records.list(context.actor.tenant, { order: 'asc' }, 100, after, context.now)
    yield * page.items
    after = page.resumeAfter
  } while (after)
}

/** A package URL without its qualifiers and subpath; without a version it stands for every version. */
const purlBase = (purl: string) => purl.replace(/[?#].*$/, '')
const withoutVersion = (purl: string) => purlBase(purl).replace(/@[^/@]*$/, '')

function matches (product: VexProduct, record: SecurityRecord): boolean {
  const purls = [record.component?.purl, record.asset.purl].filter((purl): purl is string => purl !== undefined)
  if (product.purl) {
    const wanted = purlBase(product.purl)
    const anyVersion = !/@[^/@]*$/.test(wanted)
    return purls.some((purl) => purlBase(purl) === wanted || (anyVersion && withoutVersion(purl) === wanted))
  }
  return product.name !== undefined && (record.component?.name === product.name || record.asset.name === product.name)
}

function reasonOf (statement: VexStatement, document: VexOutcome['document'], id: string): string {
  const origin = `VEX ${document.id ?? id}${document.author ? ` by ${document.author}` : ''}`
  return clip(`${statement.reason ?? statement.decision} (${origin})`, 2000)
}

/** The patch a decision makes of a record; undefined when the record says so already. */
function patchOf (record: SecurityRecord, decision: VexDecision, reason: string): RecordPatch | undefined {
  switch (decision) {
    case 'not_affected':
    case 'false_positive':
    case 'resolved':
      return record.status === decision && record.statusReason === reason ? undefined : { status: decision, statusReason: reason }
    case 'affected':
      return activeStatuses.includes(record.status) ? undefined : { status: 'open', statusReason: null }
    case 'under_investigation':
      return record.status === 'triaged' ? undefined : { status: 'triaged' }
  }
}

/** Applies a decision to the current record (read again when another writer got there first); false when nothing changed. */
async function decide (data: DataLayer, context: RequestContext, id: string, decision: VexDecision, reason: string): Promise<boolean> {
  return await retryOnConflict({ attempts: ATTEMPTS, isConflict: (error) => error instanceof PreconditionFailedError, exhausted: () => new IngestConflictError() }, async () => {
    const current = await data.records.get(context.actor.tenant, id)
    const patch = current && patchOf(current, decision, reason)
    if (!current || !patch) return false
    await updateRecord(data, context, id, patch, etagOf(current))
    return true
  })
}
