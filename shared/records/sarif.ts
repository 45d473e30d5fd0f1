import { createHash } from 'node:crypto'
import { severityOfScore } from './cvss.ts'
import { isPlainObject } from './merge-patch.ts'
import type { RecordCreate } from './schema.ts'
import type { Category, Severity } from './vocabulary.ts'

/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) to security records,
 * README "Importing scanner reports". Pure functions: a run is reduced to what mapping needs
 * (`RunContext`, small enough to store), then each result maps on its own to one record body.
 */

export const SARIF_VERSION = '2.1.0'

/**
 * A SARIF log as the import reads it, piece by piece (functions/import-report/sarif-scanner.ts):
 * `version`, the run members results are mapped with, the start of a run's `results` (a run
 * without them computed none, which is not the same as finding none), each result as JSON text.
 */
export type LogPiece =
  | { kind: 'version', value: unknown }
  | { kind: 'run', run: number }
  | { kind: 'runMember', run: number, key: string, value: unknown }
  | { kind: 'results', run: number }
  | { kind: 'result', run: number, index: number, json: string }

/** The asset an import is about (query parameters of `POST /v1/imports`). */
export type ImportAsset = RecordCreate['asset']

/** What re-import semantics are scoped by, besides the tenant: the tool, the analysis category, the asset. */
export interface ImportScope {
  tool: string
  category: string
  asset: string
}

interface RuleContext {
  id?: string
  name?: string
  shortDescription?: string
  fullDescription?: string
  help?: string
  helpUri?: string
  level?: string
  securitySeverity?: string
  cweIds?: string[]
  tags?: string[]
}

/** A run reduced to what its results need: the tool, the category, the rules (trimmed), artifact locations. */
export interface RunContext {
  tool: { name: string, version?: string }
  category: string
  rules: RuleContext[]
  /** `tool.extensions[i].rules` (CodeQL packs put their rules there). */
  extensionRules: RuleContext[][]
  artifacts: Array<{ uri?: string, uriBaseId?: string }>
}

/** One result, mapped: a record body with its fingerprint, or why it is not one. */
export type MappedResult =
  | { kind: 'finding', scope: ImportScope, finding: RecordCreate & { fingerprint: string } }
  | { kind: 'skipped', reason: string }
  | { kind: 'rejected', message: string }

const TEXT_LIMIT = 4000
const DESCRIPTION_LIMIT = 20000
const TITLE_LIMIT = 300

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined)
const clip = (value: string, limit: number) => (value.length <= limit ? value : `${value.slice(0, limit - 1)}…`)
const messageText = (message: unknown): string | undefined => (isPlainObject(message) ? text(message.markdown) ?? text(message.text) : undefined)
const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url')

/**
 * The analysis category of a run (GitHub's convention): `runAutomationDetails.id` up to its last
 * `/` (what follows is the run's instance), or the whole id without one; else the category the
 * client named for the import, else none.
 */
export function runCategory (run: Record<string, unknown>, fallback: string | undefined): string {
  const id = isPlainObject(run.automationDetails) ? text(run.automationDetails.id) : undefined
  if (id === undefined) return fallback ?? ''
  const slash = id.lastIndexOf('/')
  return slash === -1 ? id : id.slice(0, slash)
}

/** Reduces one run (without its results) to its context; a message when it is not a SARIF run. */
export function runContext (run: unknown, fallbackCategory: string | undefined): RunContext | string {
  if (!isPlainObject(run)) return 'must be an object'
  const tool = isPlainObject(run.tool) ? run.tool : undefined
  const driver = tool && isPlainObject(tool.driver) ? tool.driver : undefined
  const name = driver ? text(driver.name) : undefined
  if (!driver || name === undefined) return 'tool.driver.name is required'
  const version = text(driver.semanticVersion) ?? text(driver.version)
  const extensions = Array.isArray(tool!.extensions) ? tool!.extensions : []
  return {
    tool: { name: clip(name, 100), ...(version ? { version: clip(version, 100) } : {}) },
    category: clip(runCategory(run, fallbackCategory), 200),
    rules: rulesOf(driver),
    extensionRules: extensions.map((extension) => (isPlainObject(extension) ? rulesOf(extension) : [])),
    artifacts: Array.isArray(run.artifacts)
      ? run.artifacts.map((artifact) => {
        const location = isPlainObject(artifact) && isPlainObject(artifact.location) ? artifact.location : {}
        return { ...(text(location.uri) ? { uri: clip(location.uri as string, 1000) } : {}), ...(text(location.uriBaseId) ? { uriBaseId: location.uriBaseId as string } : {}) }
      })
      : []
  }
}

function rulesOf (component: Record<string, unknown>): RuleContext[] {
  return Array.isArray(component.rules) ? component.rules.map(ruleContext) : []
}

function ruleContext (rule: unknown): RuleContext {
  if (!isPlainObject(rule)) return {}
  const properties = isPlainObject(rule.properties) ? rule.properties : {}
  const configuration = isPlainObject(rule.defaultConfiguration) ? rule.defaultConfiguration : {}
  const tags = Array.isArray(properties.tags) ? properties.tags.filter((tag): tag is string => typeof tag === 'string').slice(0, 50) : []
  const cweIds = [...cwesFromRelationships(rule.relationships), ...cwesFromTags(tags)]
  const securitySeverity = properties['security-severity']
  const context: RuleContext = {}
  const set = <K extends keyof RuleContext>(key: K, value: RuleContext[K] | undefined) => { if (value !== undefined) context[key] = value }
  set('id', text(rule.id) && clip(rule.id as string, 200))
  set('name', text(rule.name) && clip(rule.name as string, 200))
  set('shortDescription', messageText(rule.shortDescription) && clip(messageText(rule.shortDescription)!, TEXT_LIMIT))
  set('fullDescription', messageText(rule.fullDescription) && clip(messageText(rule.fullDescription)!, TEXT_LIMIT))
  set('help', messageText(rule.help) && clip(messageText(rule.help)!, TEXT_LIMIT))
  set('helpUri', text(rule.helpUri) && clip(rule.helpUri as string, 2048))
  set('level', text(configuration.level))
  set('securitySeverity', typeof securitySeverity === 'string' || typeof securitySeverity === 'number' ? String(securitySeverity) : undefined)
  if (cweIds.length > 0) context.cweIds = [...new Set(cweIds)]
  if (tags.length > 0) context.tags = tags
  return context
}

/** `relationships[].target` in the CWE taxonomy: `{ id: "79" | "CWE-79", toolComponent: { name: "CWE" } }`. */
function cwesFromRelationships (relationships: unknown): string[] {
  if (!Array.isArray(relationships)) return []
  const ids: string[] = []
  for (const relationship of relationships) {
    const target = isPlainObject(relationship) && isPlainObject(relationship.target) ? relationship.target : undefined
    const component = target && isPlainObject(target.toolComponent) ? target.toolComponent : undefined
    if (!target || !component || String(component.name).toUpperCase() !== 'CWE') continue
    const match = /^(?:CWE-)?0*([1-9][0-9]{0,5})$/i.exec(String(target.id))
    if (match) ids.push(`CWE-${match[1]}`)
  }
  return ids
}

/** GitHub's `external/cwe/cwe-79` tags, and Semgrep's `CWE-79: Improper Neutralization…`. */
function cwesFromTags (tags: readonly string[]): string[] {
  const ids: string[] = []
  for (const tag of tags) {
    const match = /^external\/cwe\/cwe-0*([1-9][0-9]{0,5})$/i.exec(tag) ?? /^CWE-0*([1-9][0-9]{0,5})\b/i.exec(tag)
    if (match) ids.push(`CWE-${match[1]}`)
  }
  return ids
}

/**
 * GitHub's bands for `security-severity` (a CVSS-like score, 0.0–10.0): over 9.0 critical,
 * 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low; 0 is informational — the same bands as CVSS ratings.
 */
export const severityFromScore: (score: number) => Severity = severityOfScore

/** SARIF `level`: error high, warning medium, note low, none info. */
const levelSeverity: Readonly<Record<string, Severity>> = { error: 'high', warning: 'medium', note: 'low', none: 'info' }

/**
 * Result kinds that say "no problem here" (SARIF §3.27.9): `pass` and `notApplicable` are not
 * findings. `baselineState: absent` (§3.27.24) is a result the baseline had and this run does
 * not: not reported, so its record is resolved like any result missing from the report.
 */
function notAFinding (result: Record<string, unknown>): string | undefined {
  if (result.kind === 'pass' || result.kind === 'notApplicable') return `kind is ${result.kind}`
  if (result.baselineState === 'absent') return 'baselineState is absent'
  return undefined
}

/**
 * Semgrep without a login writes this placeholder as every result's `matchBasedId/v1`
 * (semgrep/cli/src/semgrep/formatter/sarif.py): it identifies nothing, so it is ignored.
 */
const PLACEHOLDER_FINGERPRINTS = new Set(['requires login'])

function stableEntries (value: unknown): Array<[string, string]> {
  if (!isPlainObject(value)) return []
  return Object.entries(value)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '' && !PLACEHOLDER_FINGERPRINTS.has(entry[1]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

interface Location {
  uri?: string
  uriBaseId?: string
  startLine?: number
  startColumn?: number
  snippet?: string
  logical?: string
}

function primaryLocation (result: Record<string, unknown>, run: RunContext): Location {
  const first = Array.isArray(result.locations) ? result.locations[0] : undefined
  if (!isPlainObject(first)) return {}
  const location: Location = {}
  const physical = isPlainObject(first.physicalLocation) ? first.physicalLocation : undefined
  const artifact = physical && isPlainObject(physical.artifactLocation) ? physical.artifactLocation : undefined
  if (artifact) {
    const indexed = typeof artifact.index === 'number' ? run.artifacts[artifact.index] : undefined
    const uri = text(artifact.uri) ?? indexed?.uri
    const uriBaseId = text(artifact.uriBaseId) ?? indexed?.uriBaseId
    if (uri) location.uri = clip(uri, 1000)
    if (uriBaseId) location.uriBaseId = clip(uriBaseId, 100)
  }
  const region = physical && isPlainObject(physical.region) ? physical.region : undefined
  if (region) {
    if (Number.isInteger(region.startLine)) location.startLine = region.startLine as number
    if (Number.isInteger(region.startColumn)) location.startColumn = region.startColumn as number
    const snippet = isPlainObject(region.snippet) ? text(region.snippet.text) : undefined
    if (snippet) location.snippet = clip(snippet.trim(), 1000)
  }
  const logical = Array.isArray(first.logicalLocations) ? first.logicalLocations[0] : undefined
  if (isPlainObject(logical)) {
    const name = text(logical.fullyQualifiedName) ?? text(logical.name)
    if (name) location.logical = clip(name, 500)
  }
  return location
}

/** `path:line` as a reader wants it; the base (`%SRCROOT%`) is where the scan ran, so it is left out. */
function where (location: Location): string | undefined {
  const path = location.uri ?? location.logical
  if (!path) return undefined
  return location.startLine === undefined ? path : `${path}:${location.startLine}`
}

function ruleOf (result: Record<string, unknown>, run: RunContext): RuleContext {
  const reference = isPlainObject(result.rule) ? result.rule : {}
  const component = isPlainObject(reference.toolComponent) && typeof reference.toolComponent.index === 'number' ? run.extensionRules[reference.toolComponent.index] : undefined
  const rules = component ?? run.rules
  const index = typeof reference.index === 'number' ? reference.index : typeof result.ruleIndex === 'number' ? result.ruleIndex : undefined
  const id = text(result.ruleId) ?? text(reference.id)
  const byIndex = index === undefined ? undefined : rules[index]
  const rule = byIndex ?? (id === undefined ? undefined : rules.find((candidate) => candidate.id === id))
  return { ...rule, ...(id ? { id: clip(id, 200) } : {}) }
}

/**
 * The fingerprint of a result: its scope (tool, category, asset), its rule, and its identity —
 * the tool's `fingerprints`, else its `partialFingerprints` (both survive moved lines), else
 * location and snippet. A fingerprint identifies a result within its rule; two rules may
 * report the same line. The scope part is a prefix, so the records of a scope can be found by it.
 */
export function resultFingerprint (scope: ImportScope, ruleId: string, identity: unknown): string {
  return `${scopePrefix(scope)}${hash([ruleId, identity])}`
}

export function scopePrefix (scope: ImportScope): string {
  return `sarif:${hash([scope.tool, scope.category, scope.asset]).slice(0, 22)}:`
}

function identityOf (result: Record<string, unknown>, location: Location, message: string | undefined): unknown {
  const fingerprints = stableEntries(result.fingerprints)
  if (fingerprints.length > 0) return { fingerprints }
  const partial = stableEntries(result.partialFingerprints)
  if (partial.length > 0) return { partialFingerprints: partial }
  // Without any location (a policy or account finding), the message is all that tells two apart.
  if (location.uri === undefined && location.logical === undefined) return { message: message ?? null }
  return { location: [location.uriBaseId ?? null, location.uri ?? null, location.logical ?? null, location.startLine ?? null, location.startColumn ?? null, location.snippet ?? null] }
}

function severityOf (result: Record<string, unknown>, rule: RuleContext): Severity {
  const properties = isPlainObject(result.properties) ? result.properties : {}
  const raw = properties['security-severity'] ?? rule.securitySeverity
  const score = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
  if (Number.isFinite(score) && score >= 0 && score <= 10) return severityFromScore(score)
  // Results that are not failures default to `none` (SARIF §3.27.10).
  const defaultLevel = result.kind === undefined || result.kind === 'fail' ? 'warning' : 'none'
  const level = text(result.level) ?? rule.level ?? defaultLevel
  return levelSeverity[level] ?? 'medium'
}

/** What kind of finding the rule's tags say it is; code scanners mostly report vulnerabilities. */
function categoryOf (rule: RuleContext): Category {
  const tags = (rule.tags ?? []).map((tag) => tag.toLowerCase())
  if (tags.some((tag) => tag.includes('secret'))) return 'secret_exposure'
  if (tags.some((tag) => tag.includes('misconfiguration') || tag === 'iac')) return 'misconfiguration'
  return 'vulnerability'
}

const VULNERABILITY_ID = /^(CVE-[0-9]{4}-[0-9]{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$/

/**
 * An accepted suppression (SARIF §3.35: `status` absent or `accepted`) means someone decided, in
 * the code or beside it, that the result needs no action: the record says so as `not_affected`,
 * with the justification as its reason. `underReview` and `rejected` suppressions change nothing.
 */
export const SUPPRESSION_REASON_PREFIX = 'Suppressed in the scanner report'

function suppressionOf (result: Record<string, unknown>): string | undefined {
  if (!Array.isArray(result.suppressions)) return undefined
  const accepted = result.suppressions.find((suppression) => isPlainObject(suppression) && (suppression.status === undefined || suppression.status === 'accepted'))
  if (!isPlainObject(accepted)) return undefined
  const justification = text(accepted.justification)
  const kind = text(accepted.kind) ?? 'external'
  return clip(`${SUPPRESSION_REASON_PREFIX} (${kind})${justification ? `: ${justification}` : ''}`, 2000)
}

/** Maps one SARIF result of a run to the record body an import writes (README "Importing scanner reports"). */
export function mapResult (raw: unknown, run: RunContext, asset: ImportAsset, importId: string): MappedResult {
  if (!isPlainObject(raw)) return { kind: 'rejected', message: 'a result must be an object' }
  const skipped = notAFinding(raw)
  if (skipped) return { kind: 'skipped', reason: skipped }
  const rule = ruleOf(raw, run)
  if (!rule.id) return { kind: 'rejected', message: 'the result names no rule (ruleId, rule.id or ruleIndex)' }
  const message = messageText(raw.message)
  const location = primaryLocation(raw, run)
  const scope: ImportScope = { tool: run.tool.name, category: run.category, asset: asset.name }
  const firstLine = message?.split('\n').find((line) => line.trim() !== '')
  const title = clip((firstLine ?? rule.shortDescription ?? rule.name ?? rule.id).trim(), TITLE_LIMIT)
  const place = where(location)
  const description = [
    message,
    place ? `**Location:** \`${place}\`` : undefined,
    `**Rule:** \`${rule.id}\`${rule.name && rule.name !== rule.id ? ` (${rule.name})` : ''}`,
    rule.help ?? rule.fullDescription
  ].filter((part) => part !== undefined).join('\n\n')
  const finding: RecordCreate & { fingerprint: string } = {
    title,
    description: clip(description, DESCRIPTION_LIMIT),
    category: categoryOf(rule),
    severity: severityOf(raw, rule),
    asset,
    fingerprint: resultFingerprint(scope, rule.id, identityOf(raw, location, message)),
    source: { tool: run.tool.name, ruleId: rule.id, scanId: importId }
  }
  if (rule.cweIds) finding.cweIds = rule.cweIds.slice(0, 20)
  if (rule.helpUri && /^https?:\/\/\S+$/.test(rule.helpUri)) finding.references = [rule.helpUri]
  if (VULNERABILITY_ID.test(rule.id)) finding.vulnerabilityIds = [rule.id]
  const suppression = suppressionOf(raw)
  if (suppression) Object.assign(finding, { status: 'not_affected', statusReason: suppression })
  return { kind: 'finding', scope, finding }
}
