import { readFile } from 'node:fs/promises'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigError } from '../../shared/config.ts'

/** Where a JSON setting comes from: a file (a mounted Secret) or the variable's own value. */
export interface DocumentSource {
  fileVariable: string
  jsonVariable: string
  file?: string | undefined
  json?: string | undefined
}

/**
 * Reads a JSON document named by exactly one of two settings. Parse errors name the setting,
 * never the content: these documents hold secrets.
 */
export async function readSettingDocument (source: DocumentSource): Promise<{ document: unknown, origin: string }> {
  const { fileVariable, jsonVariable, file, json } = source
  if (file !== undefined && json !== undefined) throw new ConfigError(`set either ${fileVariable} or ${jsonVariable}, not both`)
  if (file === undefined && json === undefined) throw new ConfigError(`set ${fileVariable} (path of a JSON file) or ${jsonVariable} (the JSON itself)`)
  const origin = file !== undefined ? `${fileVariable} (${file})` : jsonVariable
  let text = json
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new ConfigError(`${origin}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  try {
    return { document: JSON.parse(text!), origin }
  } catch {
    throw new ConfigError(`${origin}: not valid JSON`)
  }
}

/** Checks a document against its schema; every problem is named by its JSON Pointer, never by its value. */
export function checkDocument<T extends TSchema> (schema: T, document: unknown, origin: string): void {
  if (Value.Check(schema, document)) return
  const problems = [...Value.Errors(schema, document)].slice(0, 10).map((error) => `${error.instancePath || '/'} ${describe(error)}`)
  throw new ConfigError(`${origin}: ${problems.join('; ')}`)
}

/** Schema vocabulary only: allowed values come from our schemas, never from the document. */
function describe (error: { keyword: string, message: string, params: Record<string, unknown> }): string {
  if (error.keyword === 'enum') return `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`
  if (error.keyword === 'const') return `must be ${JSON.stringify(error.params.allowedValue)}`
  return error.message
}
