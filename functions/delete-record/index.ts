import { startFunction } from '../../shared/server.ts'
import deleteRecordRoute from './route.ts'

await startFunction({ name: 'delete-record', routes: deleteRecordRoute })
