import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import type { FieldError } from './errors.ts'

const common: Options = {
  allErrors: true,
  // Never silently drop an unknown field: it must be a 400 that names it.
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  // Our schemas are TypeBox constants, not input: checking each against the JSON Schema
  // meta-schema would compile that meta-schema at every cold start (~20 ms, ~9 MB) for nothing.
  validateSchema: false,
  // Keep user-controlled regexes off the table: patterns come from our schemas only.
  code: { regExp: undefined }
}

function withFormats (ajv: Ajv): Ajv {
  ;(addFormats as unknown as (ajv: Ajv, formats: string[]) => Ajv)(ajv, ['date-time', 'uri', 'uuid', 'email'])
  return ajv
}

/** Bodies are validated as sent: `"5"` is not a number. */
export const bodyAjv = withFormats(new Ajv({ ...common, coerceTypes: false }))
/** Query strings, parameters and headers arrive as text and are coerced to their declared types. */
const textAjv = withFormats(new Ajv({ ...common, coerceTypes: true }))

/** Fastify's validator compiler: strict for bodies, coercing for everything that arrives as text. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv
  return ajv.compile(schema as object) as ValidateFunction
}

/**
 * Turns Ajv's errors into the `errors` array of a problem: one JSON Pointer and one sentence each.
 * `readOnlyFields`: top-level names the server sets, named as such when a body sends one.
 */
export function toFieldErrors (errors: readonly ErrorObject[], readOnlyFields: ReadonlySet<string> = new Set()): FieldError[] {
  const paths = new Set(errors.filter((e) => e.keyword !== 'anyOf' && !isNullAlternative(e)).map((e) => e.instancePath))
  const result: FieldError[] = []
  const seen = new Set<string>()
  for (const error of errors) {
    if (isNullAlternative(error)) continue
    if (error.keyword === 'anyOf' && paths.has(error.instancePath)) continue
    const fieldError = describe(error, readOnlyFields)
    const key = `${fieldError.path} ${fieldError.message}`
    if (seen.has(key)) continue
    seen.add(key)
    result.push(fieldError)
  }
  return result
}

/** `X | null` unions report "must be null" beside the real problem; only the real one helps. */
function isNullAlternative (error: ErrorObject): boolean {
  return error.keyword === 'type' && (error.params as { type?: string }).type === 'null'
}

function describe (error: ErrorObject, readOnlyFields: ReadonlySet<string>): FieldError {
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return { path: `${error.instancePath}/${String(params.missingProperty)}`, message: 'is required' }
    case 'additionalProperties': {
      const name = String(params.additionalProperty)
      const readOnly = error.instancePath === '' && readOnlyFields.has(name)
      return {
        path: `${error.instancePath}/${escapePointer(name)}`,
        message: readOnly ? 'is set by the server and cannot be written' : 'is not a known field'
      }
    }
    case 'enum':
      return { path: error.instancePath, message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` }
    case 'pattern':
      return { path: error.instancePath, message: `has an invalid format (must match ${String(params.pattern)})` }
    case 'format':
      return { path: error.instancePath, message: `must be a valid ${String(params.format)}` }
    case 'uniqueItems':
      return { path: error.instancePath, message: 'must not contain duplicates' }
    case 'minProperties':
      return { path: error.instancePath, message: 'must contain at least one field' }
    default:
      return { path: error.instancePath, message: error.message ?? 'is invalid' }
  }
}

function escapePointer (segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}
