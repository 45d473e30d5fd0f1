import { ItemTooLargeError } from '../errors.ts'

/**
 * DynamoDB's item limit: 400 KB, attribute names and values together
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items).
 * DynamoDB Local and dynalite refuse a larger item with a ValidationException
 * ("Item size has exceeded the maximum allowed size"), Alternator with its own default of 400 KB.
 */
export const MAX_ITEM_BYTES = 400 * 1024

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8')

/**
 * The size of an item as DynamoDB counts it, from the item as the document client sends it
 * ("DynamoDB item sizes and formats",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * each attribute's UTF-8 name plus its value — a string its UTF-8 bytes, a number 1 byte per two
 * significant digits plus 1, a binary its raw bytes, a boolean or null 1 byte, a list or map 3
 * bytes plus 1 byte and the size of each element (a map's element names counted as attribute
 * names), a set the sum of its elements. Undefined values are left out (the client removes them).
 */
export function itemSize (item: Readonly<Record<string, unknown>>): number {
  let size = 0
  for (const [name, value] of Object.entries(item)) if (value !== undefined) size += utf8(name) + valueSize(value)
  return size
}

function valueSize (value: unknown): number {
  if (typeof value === 'string') return utf8(value)
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(String(value))
  if (typeof value === 'boolean' || value === null) return 1
  if (value instanceof Uint8Array) return value.byteLength
  if (value instanceof Set) return [...value].reduce<number>((sum, element) => sum + valueSize(element), 0)
  if (Array.isArray(value)) return value.reduce<number>((sum, element) => sum + 1 + valueSize(element ?? null), 3)
  if (typeof value === 'object') {
    let size = 3
    for (const [name, element] of Object.entries(value)) if (element !== undefined) size += 1 + utf8(name) + valueSize(element)
    return size
  }
  return 0
}

/** 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1. */
function numberSize (text: string): number {
  const mantissa = text.toLowerCase().split('e')[0]!.replace(/[-+.]/g, '').replace(/^0+/, '').replace(/0+$/, '')
  return Math.ceil(Math.max(mantissa.length, 1) / 2) + 1
}

/** Refuses an item over the limit before it is sent, naming what it is and its size. */
export function assertItemFits (item: Readonly<Record<string, unknown>>, what: string): void {
  const size = itemSize(item)
  if (size > MAX_ITEM_BYTES) throw itemTooLarge(what, size)
}

export function itemTooLarge (what: string, size?: number): Error {
  const measured = size === undefined ? '' : ` would take ${(size / 1024).toFixed(1)} KB in the store:`
  return new ItemTooLargeError(`${what}${measured} over the store's item limit of ${MAX_ITEM_BYTES / 1024} KB (DynamoDB's, attribute names and values together)`)
}
