import cvssCalculator from 'ae-cvss-calculator'
import type { Severity } from './vocabulary.ts'

const { Cvss3P0, Cvss3P1, Cvss4P0 } = cvssCalculator

export interface CvssScore {
  vector: string
  version: '3.0' | '3.1' | '4.0'
  baseScore: number
  severity: Severity
}

const calculators = {
  '3.0': (vector: string) => new Cvss3P0(vector),
  '3.1': (vector: string) => new Cvss3P1(vector),
  '4.0': (vector: string) => new Cvss4P0(vector)
} as const

const VECTOR = /^CVSS:(3\.0|3\.1|4\.0)\/([A-Za-z]+:[A-Za-z]+)(\/[A-Za-z]+:[A-Za-z]+)*$/

/** Qualitative rating of a base score, as both CVSS 3.x and 4.0 define it ("None" is our `info`). */
export function severityOfScore (score: number): Severity {
  if (score >= 9) return 'critical'
  if (score >= 7) return 'high'
  if (score >= 4) return 'medium'
  if (score > 0) return 'low'
  return 'info'
}

/**
 * Validates a CVSS 3.0, 3.1 or 4.0 vector and computes its base score with ae-cvss-calculator.
 * The library is lenient (it ignores unknown metrics and fills missing ones with "X"), so the
 * vector is checked first: every metric known, none repeated, every base metric present.
 * Returns a reason string when the vector is invalid.
 */
export function scoreCvssVector (vector: string): CvssScore | string {
  const match = VECTOR.exec(vector)
  if (!match) return 'must look like CVSS:3.1/AV:N/AC:L/… (CVSS 3.0, 3.1 or 4.0)'
  const version = match[1] as CvssScore['version']
  const parts = vector.split('/').slice(1)
  const names = parts.map((part) => part.split(':')[0])
  if (new Set(names).size !== names.length) return 'repeats a metric'
  let calculator
  try {
    calculator = calculators[version](vector)
  } catch {
    return 'has an unknown metric or value'
  }
  const normalized = new Set(calculator.toString().split('/').slice(1))
  const unknown = parts.find((part) => !normalized.has(part))
  if (unknown) return `has an unknown metric or value: ${unknown}`
  if (!calculator.isBaseFullyDefined() || parts.slice(0, baseMetricCount[version]).some((part) => part.endsWith(':X'))) {
    return 'lacks a base metric'
  }
  const scores = calculator.calculateScores() as { base?: number, baseMetricsOnly?: number }
  // CVSS 4.0's "base" folds in threat metrics (CVSS-BT); the record wants the pure base score.
  const baseScore = version === '4.0' ? scores.baseMetricsOnly : scores.base
  if (typeof baseScore !== 'number' || Number.isNaN(baseScore)) return 'has no computable base score'
  return { vector, version, baseScore, severity: severityOfScore(baseScore) }
}

const baseMetricCount = { '3.0': 8, '3.1': 8, '4.0': 11 } as const
