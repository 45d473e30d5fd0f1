import { startFunction } from '../../shared/server.ts'
import updateRecordRoute from './route.ts'

await startFunction({ name: 'update-record', routes: updateRecordRoute })
