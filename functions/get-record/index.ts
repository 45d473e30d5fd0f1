import { recordFunction, startFunction } from '../../shared/server.ts'
import getRecordRoute from './route.ts'

export const definition = recordFunction('get-record', getRecordRoute)

if (import.meta.main) await startFunction(definition)
