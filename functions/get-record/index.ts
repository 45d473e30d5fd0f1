import { startFunction } from '../../shared/server.ts'
import getRecordRoute from './route.ts'

await startFunction({ name: 'get-record', routes: getRecordRoute })
