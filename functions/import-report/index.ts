import { recordFunction, startFunction } from '../../shared/server.ts'
import importReportRoute from './route.ts'

export const definition = recordFunction('import-report', importReportRoute)

if (import.meta.main) await startFunction(definition)
