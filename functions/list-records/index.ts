import { recordFunction, startFunction } from '../../shared/server.ts'
import listRecordsRoute from './route.ts'

export const definition = recordFunction('list-records', listRecordsRoute)

if (import.meta.main) await startFunction(definition)
