import { isPlainObject } from '../../records/merge-patch.ts'
import type { RunBase } from '../report-format.ts'
import { clip, messageText, text, TEXT_LIMIT } from './text.ts'

/** A SARIF run reduced to what its results are mapped with: small enough to store with the import. */

/** Rules of a run, its extensions' included (GitHub code scanning takes 25 000 per run). */
export const MAX_RULES = 25_000

export interface RuleContext {
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
export interface RunContext extends RunBase {
  rules: RuleContext[]
  /** `tool.extensions[i].rules` (CodeQL packs put their rules there). */
  extensionRules: RuleContext[][]
  artifacts: Array<{ uri?: string, uriBaseId?: string }>
}

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
  const ruleCount = [driver, ...extensions].reduce<number>((sum, component) => sum + (isPlainObject(component) && Array.isArray(component.rules) ? component.rules.length : 0), 0)
  if (ruleCount > MAX_RULES) return `tool holds ${ruleCount} rules, more than the ${MAX_RULES} a run may have; split the report`
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

const rulesById = new WeakMap<readonly RuleContext[], Map<string, RuleContext>>()

/** The first rule with this id, found through a Map made once per list of rules. */
export function ruleWithId (rules: readonly RuleContext[], id: string): RuleContext | undefined {
  let byId = rulesById.get(rules)
  if (!byId) {
    byId = new Map()
    for (const rule of rules) if (rule.id !== undefined && !byId.has(rule.id)) byId.set(rule.id, rule)
    rulesById.set(rules, byId)
  }
  return byId.get(id)
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

