import { recordFunction, startFunction } from '../../shared/server.ts'
import deleteRecordRoute from './route.ts'

export const definition = recordFunction('delete-record', deleteRecordRoute)

if (import.meta.main) await startFunction(definition)
