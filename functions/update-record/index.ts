import { recordFunction, startFunction } from '../../shared/server.ts'
import updateRecordRoute from './route.ts'

export const definition = recordFunction('update-record', updateRecordRoute)

if (import.meta.main) await startFunction(definition)
