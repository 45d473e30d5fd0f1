import type { FieldError } from '../../errors.ts'
import { isPlainObject } from '../../records/merge-patch.ts'
import { CYCLONEDX_MEDIA_TYPE, CYCLONEDX_VERSIONS } from '../../records/import-formats.ts'
import { affectedRefs, BOM_COMPONENTS, componentsByRef } from '../cyclonedx/bom-context.ts'
import type { ScanPaths } from '../report-format.ts'
import { clip, text } from '../sarif/text.ts'

/** A VEX decision, whatever document it came in: what a statement says about a vulnerability in some products. */
export type VexDecision = 'not_affected' | 'false_positive' | 'resolved' | 'affected' | 'under_investigation'

/** What a statement's products are matched with: a package URL, or a name where the document has no purl. */
export interface VexProduct {
  purl?: string
  name?: string
}

export interface VexStatement {
  /** JSON Pointer into the document. */
  path: string
  vulnerability: string
  products: VexProduct[]
  decision: VexDecision
  /** The justification and the statement's own words, as a record's reason. */
  reason?: string
}

/** A VEX format: how its document is read (the same strict streaming scanner as reports) and its statements. */
export interface VexFormat {
  name: 'openvex' | 'cyclonedx'
  mediaTypes: readonly string[]
  recognise: RegExp
  paths: ScanPaths
  /** The document must have its list of statements (`paths.results`), if empty. */
  resultsRequired: boolean
  /** What is wrong with the document's header and kept members, as the request body's schema declares them. */
  checkHeader (header: Readonly<Record<string, unknown>>, members: Readonly<Record<string, unknown>>): FieldError[]
  /** The document's id and author, from its header and kept members. */
  origin (header: Readonly<Record<string, unknown>>, members: Readonly<Record<string, unknown>>): { id?: string, author?: string }
  /** A statement of the document in the VEX's own terms; a message when it says nothing this API applies. */
  statements (raw: unknown, index: number, members: Readonly<Record<string, unknown>>): VexStatement[] | string
  /** The keys of the streamed elements (`paths.streamed`) a statement reads: only those are kept once the document has ended. */
  contextKeys? (raw: unknown): string[]
}

export const OPENVEX_MEDIA_TYPE = 'application/openvex+json'
export const OPENVEX_CONTEXT = 'https://openvex.dev/ns/v0.2.0'

const openvexDecisions: ReadonlyMap<string, VexDecision> = new Map([['not_affected', 'not_affected'], ['affected', 'affected'], ['fixed', 'resolved'], ['under_investigation', 'under_investigation']])
const cyclonedxDecisions: ReadonlyMap<string, VexDecision> = new Map([
  ['not_affected', 'not_affected'], ['false_positive', 'false_positive'], ['resolved', 'resolved'], ['resolved_with_pedigree', 'resolved'],
  ['exploitable', 'affected'], ['in_triage', 'under_investigation']
])

const PURL = /^pkg:[a-zA-Z][a-zA-Z0-9.+-]*\//

function productOf (value: unknown): VexProduct | undefined {
  const id = typeof value === 'string' ? value : isPlainObject(value) ? text(value['@id']) : undefined
  const identifiers = isPlainObject(value) && isPlainObject(value.identifiers) ? value.identifiers : {}
  const purl = text(identifiers.purl) ?? (id && PURL.test(id) ? id : undefined)
  if (purl) return { purl }
  return id ? { name: id } : undefined
}

/** OpenVEX 0.2.0 (https://github.com/openvex/spec): statements of a status about a vulnerability in products. */
export const openvex: VexFormat = {
  name: 'openvex',
  mediaTypes: [OPENVEX_MEDIA_TYPE, 'application/json'],
  recognise: /"@context"\s*:\s*"https:\/\/openvex\.dev\/ns/,
  paths: { document: 'an OpenVEX document', header: ['@context', '@id', 'author', 'timestamp', 'version'], runMembers: [], results: 'statements' },
  resultsRequired: true,
  checkHeader (header) {
    const context = header['@context']
    if (typeof context !== 'string' || !context.startsWith('https://openvex.dev/ns')) return [{ path: '/@context', message: `must be "${OPENVEX_CONTEXT}"` }]
    return ['@id', 'author'].filter((key) => Object.hasOwn(header, key) && typeof header[key] !== 'string').map((key) => ({ path: `/${key}`, message: 'must be a string' }))
  },
  origin (header) {
    return { ...(text(header['@id']) ? { id: clip(text(header['@id'])!, 300) } : {}), ...(text(header.author) ? { author: clip(text(header.author)!, 200) } : {}) }
  },
  statements (raw, index) {
    if (!isPlainObject(raw)) return 'a statement must be an object'
    const vulnerability = typeof raw.vulnerability === 'string' ? raw.vulnerability : isPlainObject(raw.vulnerability) ? text(raw.vulnerability.name) ?? text(raw.vulnerability['@id']) : undefined
    if (!vulnerability) return 'the statement names no vulnerability'
    const decision = openvexDecisions.get(text(raw.status) ?? '')
    if (!decision) return `status ${JSON.stringify(raw.status)} is not an OpenVEX status`
    const products: VexProduct[] = []
    for (const product of Array.isArray(raw.products) ? raw.products : []) {
      const subcomponents = isPlainObject(product) && Array.isArray(product.subcomponents) ? product.subcomponents.map(productOf).filter((sub) => sub !== undefined) : []
      // With subcomponents the finding is in them; the product is where they ship.
      if (subcomponents.length > 0) products.push(...subcomponents)
      else {
        const named = productOf(product)
        if (named) products.push(named)
      }
    }
    if (products.length === 0) return 'the statement names no product'
    const words = [text(raw.justification), text(raw.impact_statement), text(raw.action_statement), text(raw.status_notes)].filter((part) => part !== undefined)
    return [{ path: `/statements/${index}`, vulnerability: clip(vulnerability, 100), products, decision, ...(words.length > 0 ? { reason: words.join(': ') } : {}) }]
  }
}

/** A CycloneDX VEX (a BOM whose `vulnerabilities[].analysis` says what was decided). */
export const cyclonedxVex: VexFormat = {
  name: 'cyclonedx',
  mediaTypes: [CYCLONEDX_MEDIA_TYPE, 'application/json'],
  recognise: /"bomFormat"\s*:\s*"CycloneDX"/,
  paths: { document: 'a CycloneDX VEX', header: ['bomFormat', 'specVersion', 'serialNumber'], runMembers: ['metadata'], streamed: BOM_COMPONENTS, results: 'vulnerabilities' },
  resultsRequired: false,
  contextKeys: affectedRefs,
  checkHeader ({ bomFormat, specVersion }, members) {
    const problems: FieldError[] = []
    if (Object.hasOwn(members, 'components') && !Array.isArray(members.components)) problems.push({ path: '/components', message: 'must be an array' })
    if (bomFormat !== 'CycloneDX') problems.push({ path: '/bomFormat', message: 'must be "CycloneDX"' })
    if (!(CYCLONEDX_VERSIONS as readonly unknown[]).includes(specVersion)) problems.push({ path: '/specVersion', message: `must be ${CYCLONEDX_VERSIONS.map((version) => `"${version}"`).join(', ')}` })
    return problems
  },
  origin (header, members) {
    const metadata = isPlainObject(members.metadata) ? members.metadata : {}
    const authors = Array.isArray(metadata.authors) ? metadata.authors : []
    const author = authors.map((entry) => isPlainObject(entry) ? text(entry.name) ?? text(entry.email) : undefined).find((name) => name !== undefined)
    return { ...(text(header.serialNumber) ? { id: clip(text(header.serialNumber)!, 300) } : {}), ...(author ? { author: clip(author, 200) } : {}) }
  },
  statements (raw, index, members) {
    if (!isPlainObject(raw)) return 'a vulnerability must be an object'
    const vulnerability = text(raw.id)
    if (!vulnerability) return 'the vulnerability has no id'
    const analysis = isPlainObject(raw.analysis) ? raw.analysis : undefined
    const decision = cyclonedxDecisions.get(text(analysis?.state) ?? '')
    if (!analysis || !decision) return 'the vulnerability has no analysis.state'
    const components = componentsOf(members)
    const products: VexProduct[] = []
    for (const affected of Array.isArray(raw.affects) ? raw.affects : []) {
      const ref = isPlainObject(affected) ? text(affected.ref) : undefined
      if (!ref) continue
      const component = Object.hasOwn(components, ref) ? components[ref] : undefined
      if (component) products.push(component.purl ? { purl: component.purl } : { name: component.name })
      else products.push(PURL.test(ref) ? { purl: ref } : { name: ref })
    }
    if (products.length === 0) return 'the vulnerability names no affected component'
    const words = [text(analysis.justification), text(analysis.detail)].filter((part) => part !== undefined)
    return [{ path: `/vulnerabilities/${index}`, vulnerability: clip(vulnerability, 100), products, decision, ...(words.length > 0 ? { reason: words.join(': ') } : {}) }]
  }
}

const componentCache = new WeakMap<object, ReturnType<typeof componentsByRef>>()
function componentsOf (members: Readonly<Record<string, unknown>>) {
  const cached = componentCache.get(members)
  if (cached) return cached
  const built = componentsByRef(members.metadata, members.components)
  componentCache.set(members, built)
  return built
}

export const vexFormats: readonly VexFormat[] = [openvex, cyclonedxVex]
export const vexMediaTypes: readonly string[] = [...new Set(vexFormats.flatMap((format) => format.mediaTypes))]

/** The VEX format of a document sent as `mediaType`; as application/json, the one its start names (OpenVEX when none does). */
export function vexFormatOf (mediaType: string | undefined, start: string): VexFormat {
  const essence = (mediaType ?? '').split(';')[0]!.trim().toLowerCase()
  if (essence === 'application/json') return vexFormats.find((format) => format.recognise.test(start)) ?? openvex
  return vexFormats.find((format) => format.mediaTypes.includes(essence)) ?? openvex
}
