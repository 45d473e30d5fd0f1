/** The expressions of one DynamoDB request, written with `#name` for attributes and `:name` for values. */
export interface ExpressionParts {
  UpdateExpression?: string
  ConditionExpression?: string
  KeyConditionExpression?: string
  FilterExpression?: string
  ProjectionExpression?: string
}

export type Expressions = ExpressionParts & {
  ExpressionAttributeNames?: Record<string, string>
  ExpressionAttributeValues?: Record<string, unknown>
}

/**
 * A request's expressions with their attribute names and values, each spelled once: every
 * `#name` stands for the attribute `name` (or, for attributes whose name is not a word such as
 * an index key, for `names[name]`), every `:name` for `values[name]`. Only what the expressions
 * use is sent (DynamoDB refuses unused names and values); a placeholder without a value throws.
 */
export function expressions (parts: ExpressionParts, values: Record<string, unknown> = {}, names: Record<string, string> = {}): Expressions {
  const text = Object.values(parts).join(' ')
  const attributeNames = Object.fromEntries([...new Set(text.match(/#\w+/g) ?? [])].map((token) => [token, names[token.slice(1)] ?? token.slice(1)]))
  const attributeValues = Object.fromEntries([...new Set(text.match(/:\w+/g) ?? [])].map((token) => {
    const name = token.slice(1)
    if (!Object.hasOwn(values, name)) throw new Error(`expressions: no value for ${token}`)
    return [token, values[name]]
  }))
  return {
    ...parts,
    ...(Object.keys(attributeNames).length > 0 ? { ExpressionAttributeNames: attributeNames } : {}),
    ...(Object.keys(attributeValues).length > 0 ? { ExpressionAttributeValues: attributeValues } : {})
  }
}
