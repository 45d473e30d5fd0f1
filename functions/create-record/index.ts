import { startFunction } from '../../shared/server.ts'
import createRecordRoute from './route.ts'

await startFunction({ name: 'create-record', routes: createRecordRoute })
