import { isPlainObject } from '../../records/merge-patch.ts'

/** Text helpers of the SARIF mapping: SARIF strings and messages, clipped to what a record holds. */

export const TEXT_LIMIT = 4000

export const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined)
export const clip = (value: string, limit: number) => (value.length <= limit ? value : `${value.slice(0, limit - 1)}…`)
export const messageText = (message: unknown): string | undefined => (isPlainObject(message) ? text(message.markdown) ?? text(message.text) : undefined)
