import type { Severity, Status } from './vocabulary.ts'

/** The status workflow (README "The record and its workflow"): from each status, the statuses a record may move to. */
export const statusTransitions: Readonly<Record<Status, readonly Status[]>> = {
  open: ['triaged', 'in_progress', 'resolved', 'false_positive', 'not_affected', 'accepted_risk', 'duplicate'],
  triaged: ['open', 'in_progress', 'resolved', 'false_positive', 'not_affected', 'accepted_risk', 'duplicate'],
  in_progress: ['open', 'triaged', 'resolved', 'accepted_risk'],
  resolved: ['open'],
  false_positive: ['open'],
  not_affected: ['open'],
  accepted_risk: ['open'],
  duplicate: ['open']
}

export function canTransition (from: Status, to: Status): boolean {
  return from === to || statusTransitions[from].includes(to)
}

/** Statuses that must say why they were chosen. */
export const statusesNeedingReason: readonly Status[] = ['false_positive', 'not_affected', 'accepted_risk', 'duplicate']

/** Statuses in which a finding still needs work: only these can be overdue. */
export const activeStatuses: readonly Status[] = ['open', 'triaged', 'in_progress']

/** Days to remediate, counted from `createdAt`; `info` has no deadline. */
export const remediationSlaDays: Readonly<Record<Severity, number | null>> = {
  critical: 7,
  high: 30,
  medium: 90,
  low: 180,
  info: null
}

export function dueAtFor (severity: Severity, createdAt: string): string | undefined {
  const days = remediationSlaDays[severity]
  if (days === null) return undefined
  return new Date(Date.parse(createdAt) + days * 86_400_000).toISOString()
}

/** The longest a risk may be accepted for. */
export const maxRiskAcceptanceDays = 365
