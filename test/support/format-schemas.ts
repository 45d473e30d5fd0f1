import { readFileSync } from 'node:fs'
import * as CDX from '@cyclonedx/cyclonedx-library'
import { Ajv2020 } from 'ajv/dist/2020.js'
import ajvDraft04 from 'ajv-draft-04'
import addFormats from 'ajv-formats'

/** The formats' own schemas, as their projects publish them, for checking fixtures and exports. */

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/schemas/${name}`, import.meta.url), 'utf8'))

/** Errors of a CycloneDX JSON document against the schema of its own `specVersion` (the CycloneDX library's validator); null when valid. */
export async function cyclonedxErrors (json: string, strict = false): Promise<unknown> {
  const version = JSON.parse(json).specVersion as CDX.Spec.Version
  const validator = strict ? new CDX.Validation.JsonStrictValidator(version) : new CDX.Validation.JsonValidator(version)
  return await validator.validate(json)
}

const openvexAjv = new Ajv2020({ allErrors: true, strict: false })
addFormats.default(openvexAjv)
// The OpenVEX schema names IRIs; the project's documents use URLs, URNs and package URLs, all of which are IRIs.
openvexAjv.addFormat('iri', /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/)
const validateOpenVex = openvexAjv.compile(schema('openvex_json_schema-0.2.0.json'))

export function openvexErrors (document: unknown): unknown {
  return validateOpenVex(document) ? null : validateOpenVex.errors
}

// A CommonJS module: its class is the default export's `default`.
const AjvDraft04 = (ajvDraft04 as unknown as { default: new (options: object) => InstanceType<typeof Ajv2020> }).default
const sarifAjv = new AjvDraft04({ allErrors: true, strict: false })
addFormats.default(sarifAjv)
const validateSarif = sarifAjv.compile(schema('sarif-schema-2.1.0.json'))

export function sarifErrors (document: unknown): unknown {
  return validateSarif(document) ? null : validateSarif.errors
}
