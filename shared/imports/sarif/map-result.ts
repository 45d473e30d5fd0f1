import { createHash } from 'node:crypto'
import type { ValidateFunction } from 'ajv'
import { severityOfScore } from '../../records/cvss.ts'
import { isPlainObject } from '../../records/merge-patch.ts'
import { RecordCreate } from '../../records/schema.ts'
import type { Category, Severity } from '../../records/vocabulary.ts'
import { bodyAjv } from '../../validation.ts'
import { legacyScopePrefix, scopeKey } from '../import-scope.ts'
import { SUPPRESSION_REASON_PREFIX, type ImportAsset, type ImportedFinding, type ImportScope, type MappedResult } from '../report-format.ts'
import { ruleWithId, type RuleContext, type RunContext } from './run-context.ts'
import { clip, messageText, text } from './text.ts'

/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) results to security
 * records: each result maps on its own, with its run's context, to one record body.
 */

const DESCRIPTION_LIMIT = 20000
const TITLE_LIMIT = 300

/** The format's name: the first part of every fingerprint it makes. */
export const SARIF = 'sarif'

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url')

/**
 * GitHub's bands for `security-severity` (a CVSS-like score, 0.0–10.0): over 9.0 critical,
 * 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low; 0 is informational — the same bands as CVSS ratings.
 */
export const severityFromScore: (score: number) => Severity = severityOfScore

/** SARIF `level`: error high, warning medium, note low, none info. */
const levelSeverity: ReadonlyMap<string, Severity> = new Map([['error', 'high'], ['warning', 'medium'], ['note', 'low'], ['none', 'info']])

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
  const rule = byIndex ?? (id === undefined ? undefined : ruleWithId(rules, id))
  return { ...rule, ...(id ? { id: clip(id, 200) } : {}) }
}

/**
 * The identity of a result within its rule: the tool's `fingerprints`, else its
 * `partialFingerprints` (both survive moved lines and reworded messages), else its location,
 * snippet and message. The message is part of it because tools without fingerprints report
 * distinct findings at one place that only the message tells apart (Bandit: three hardcoded
 * passwords on one line); a tool that rewords a finding's message without fingerprints makes it
 * a new finding. Results that share even that are told apart by their order (map-chunk.ts).
 */
function identityOf (result: Record<string, unknown>, location: Location, message: string | undefined): unknown {
  const fingerprints = stableEntries(result.fingerprints)
  if (fingerprints.length > 0) return { fingerprints }
  const partial = stableEntries(result.partialFingerprints)
  if (partial.length > 0) return { partialFingerprints: partial }
  // Without any location (a policy or account finding), the message is all that tells two apart.
  if (location.uri === undefined && location.logical === undefined) return { message: message ?? null }
  return { location: locationIdentity(location), message: message ?? null }
}

/** The identity the import gave a result before messages and the asset's type and environment counted (see legacyFingerprint). */
function legacyIdentityOf (identity: unknown, location: Location): unknown {
  return isPlainObject(identity) && 'location' in identity ? { location: locationIdentity(location) } : identity
}

function locationIdentity (location: Location): unknown[] {
  return [location.uriBaseId ?? null, location.uri ?? null, location.logical ?? null, location.startLine ?? null, location.startColumn ?? null, location.snippet ?? null]
}

/** Only a help URI a record's `references` may hold: a person reads it, nothing follows it blindly. */
let validReference: ValidateFunction | undefined
const isReference = (uri: string) => (validReference ??= bodyAjv.compile(RecordCreate.properties.references.items))(uri)

function severityOf (result: Record<string, unknown>, rule: RuleContext): Severity {
  const properties = isPlainObject(result.properties) ? result.properties : {}
  const raw = properties['security-severity'] ?? rule.securitySeverity
  const score = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
  if (Number.isFinite(score) && score >= 0 && score <= 10) return severityFromScore(score)
  // Results that are not failures default to `none` (SARIF §3.27.10).
  const defaultLevel = result.kind === undefined || result.kind === 'fail' ? 'warning' : 'none'
  const level = text(result.level) ?? rule.level ?? defaultLevel
  return levelSeverity.get(level) ?? 'medium'
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
function suppressionOf (result: Record<string, unknown>): string | undefined {
  if (!Array.isArray(result.suppressions)) return undefined
  const accepted = result.suppressions.find((suppression) => isPlainObject(suppression) && (suppression.status === undefined || suppression.status === 'accepted'))
  if (!isPlainObject(accepted)) return undefined
  const justification = text(accepted.justification)
  const kind = text(accepted.kind) ?? 'external'
  return clip(`${SUPPRESSION_REASON_PREFIX} (${kind})${justification ? `: ${justification}` : ''}`, 2000)
}

/** Maps one SARIF result of a run to the record body an import writes. */
export function mapResult (raw: unknown, run: RunContext, asset: ImportAsset, importId: string): MappedResult {
  if (!isPlainObject(raw)) return { kind: 'rejected', message: 'a result must be an object' }
  const skipped = notAFinding(raw)
  if (skipped) return { kind: 'skipped', reason: skipped }
  const rule = ruleOf(raw, run)
  if (!rule.id) return { kind: 'rejected', message: 'the result names no rule (ruleId, rule.id or ruleIndex)' }
  const message = messageText(raw.message)
  const location = primaryLocation(raw, run)
  const scope: ImportScope = { tool: run.tool.name, category: run.category, asset: asset.name }
  const identity = identityOf(raw, location, message)
  const firstLine = message?.split('\n').find((line) => line.trim() !== '')
  const title = clip((firstLine ?? rule.shortDescription ?? rule.name ?? rule.id).trim(), TITLE_LIMIT)
  const place = where(location)
  const description = [
    message,
    place ? `**Location:** \`${place}\`` : undefined,
    `**Rule:** \`${rule.id}\`${rule.name && rule.name !== rule.id ? ` (${rule.name})` : ''}`,
    rule.help ?? rule.fullDescription
  ].filter((part) => part !== undefined).join('\n\n')
  const finding: ImportedFinding = {
    title,
    description: clip(description, DESCRIPTION_LIMIT),
    category: categoryOf(rule),
    severity: severityOf(raw, rule),
    asset,
    fingerprint: `${scopeKey(SARIF, scope, asset)}${hash([rule.id, identity])}`,
    source: { tool: run.tool.name, ruleId: rule.id, scanId: importId }
  }
  if (rule.cweIds) finding.cweIds = rule.cweIds.slice(0, 20)
  if (rule.helpUri && isReference(rule.helpUri)) finding.references = [rule.helpUri]
  if (VULNERABILITY_ID.test(rule.id)) finding.vulnerabilityIds = [rule.id]
  const suppression = suppressionOf(raw)
  if (suppression) Object.assign(finding, { status: 'not_affected', statusReason: suppression })
  return { kind: 'finding', scope, finding, legacyFingerprint: `${legacyScopePrefix(SARIF, scope, asset.name)}${hash([rule.id, legacyIdentityOf(identity, location)])}` }
}
