import type { FieldError } from '../../errors.ts'
import { importFormatLabel, SARIF_VERSION } from '../../records/import-formats.ts'
import type { ReportFormat } from '../report-format.ts'
import { mapResult, SARIF } from './map-result.ts'
import { runContext, type RunContext } from './run-context.ts'

/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as CodeQL, Semgrep,
 * Trivy, Bandit, ESLint and others write it: a log of runs, each with its tool and results.
 */
export const sarif: ReportFormat<RunContext> = {
  name: SARIF,
  title: importFormatLabel(SARIF).title,
  mediaTypes: importFormatLabel(SARIF).mediaTypes,
  // The run members mapping reads: the tool and its rules, the category, the artifacts results point into.
  paths: { document: 'a SARIF log', header: ['version'], runs: 'runs', runMembers: ['tool', 'automationDetails', 'artifacts'], results: 'results', resultsMayBeNull: true },
  checkHeader ({ version }, complete) {
    const problems: FieldError[] = []
    if (version === undefined) {
      if (complete) problems.push({ path: '/version', message: `is required ("${SARIF_VERSION}")` })
    } else if (version !== SARIF_VERSION) {
      problems.push({ path: '/version', message: `must be "${SARIF_VERSION}" (got ${JSON.stringify(version).slice(0, 50)})` })
    }
    return problems
  },
  runContext,
  mapResult
}
