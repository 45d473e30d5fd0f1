import escapeHtml from 'escape-html'

/** Markup that is already safe: made by `html`, never from input. */
export class SafeHtml {
  readonly value: string
  constructor (value: string) { this.value = value }
  toString (): string { return this.value }
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[]

/**
 * Server-rendered markup: every interpolated value is escaped unless it is SafeHtml, arrays are
 * joined, and null, undefined and false render nothing. Attribute values must be quoted.
 */
export function html (strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!
  values.forEach((value, index) => { out += render(value) + strings[index + 1]! })
  return new SafeHtml(out)
}

function render (value: Interpolation): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}
