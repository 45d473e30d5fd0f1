import { recordFunction, startFunction } from '../../shared/server.ts'
import createRecordRoute from './route.ts'

export const definition = recordFunction('create-record', createRecordRoute)

if (import.meta.main) await startFunction(definition)
