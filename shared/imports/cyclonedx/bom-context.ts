import { isPlainObject } from '../../records/merge-patch.ts'
import type { RunBase } from '../report-format.ts'
import { clip, text } from '../sarif/text.ts'

/** A CycloneDX BOM reduced to what its vulnerabilities are mapped with: small enough to store with the import. */

/** A component as a finding names it. */
export interface BomComponent {
  name: string
  version?: string
  purl?: string
}

export interface BomContext extends RunBase {
  /** The components of the BOM its vulnerabilities name (nested ones and `metadata.component` included), by `bom-ref`. */
  components: Record<string, BomComponent>
}

/** A BOM's components as the scanner streams them: each reduced to what a finding names it by. */
export const BOM_COMPONENTS = { member: 'components', keep: ['bom-ref', 'name', 'version', 'purl'], key: 'bom-ref' } as const

/** The tool of a BOM: `metadata.tools` (1.5's `{ components, services }` or the older list), first one named. */
export function bomTool (metadata: unknown): RunBase['tool'] {
  const tools = isPlainObject(metadata) ? metadata.tools : undefined
  const listed = Array.isArray(tools) ? tools : isPlainObject(tools) ? [...(Array.isArray(tools.components) ? tools.components : []), ...(Array.isArray(tools.services) ? tools.services : [])] : []
  for (const tool of listed) {
    const name = isPlainObject(tool) ? text(tool.name) : undefined
    if (!name) continue
    const version = text(tool.version)
    return { name: clip(name, 100), ...(version ? { version: clip(version, 100) } : {}) }
  }
  return { name: 'CycloneDX' }
}

/**
 * The components of a BOM by `bom-ref`, nested ones and `metadata.component` included (walked
 * without recursion); with `named`, only those (what the BOM's vulnerabilities name).
 */
export function componentsByRef (metadata: unknown, components: unknown, named?: ReadonlySet<string>): Record<string, BomComponent> {
  const byRef: Record<string, BomComponent> = Object.create(null)
  const pending: unknown[] = Array.isArray(components) ? [...components] : []
  if (isPlainObject(metadata) && isPlainObject(metadata.component)) pending.push(metadata.component)
  while (pending.length > 0) {
    const component = pending.pop()
    if (!isPlainObject(component)) continue
    if (Array.isArray(component.components)) pending.push(...component.components)
    const ref = text(component['bom-ref'])
    const name = text(component.name)
    if (!ref || !name || Object.hasOwn(byRef, ref) || (named !== undefined && !named.has(ref))) continue
    const version = text(component.version)
    const purl = text(component.purl)
    byRef[ref] = { name: clip(name, 300), ...(version ? { version: clip(version, 200) } : {}), ...(purl && purl.length <= 1000 ? { purl } : {}) }
  }
  return byRef
}

/** The component refs a vulnerability (or a part of one, split by its `affects`) names. */
export function affectedRefs (vulnerability: unknown): string[] {
  const affects = isPlainObject(vulnerability) && Array.isArray(vulnerability.affects) ? vulnerability.affects : []
  return affects.map((affected) => isPlainObject(affected) ? text(affected.ref) : undefined).filter((ref): ref is string => ref !== undefined)
}

/** Reduces a BOM (without its vulnerabilities) to its context: the components `named` by its vulnerabilities. */
export function bomContext (members: Readonly<Record<string, unknown>>, fallbackCategory: string | undefined, named?: ReadonlySet<string>): BomContext | string {
  if (members.metadata !== undefined && !isPlainObject(members.metadata)) return 'metadata must be an object'
  if (members.components !== undefined && !Array.isArray(members.components)) return 'components must be an array'
  return { tool: bomTool(members.metadata), category: fallbackCategory ?? '', components: componentsByRef(members.metadata, members.components, named) }
}
