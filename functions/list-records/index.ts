import { startFunction } from '../../shared/server.ts'
import listRecordsRoute from './route.ts'

await startFunction({ name: 'list-records', routes: listRecordsRoute })
