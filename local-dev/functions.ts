import createRecordRoute from '../functions/create-record/route.ts'
import deleteRecordRoute from '../functions/delete-record/route.ts'
import getRecordRoute from '../functions/get-record/route.ts'
import listRecordsRoute from '../functions/list-records/route.ts'
import updateRecordRoute from '../functions/update-record/route.ts'
import type { FunctionDefinition } from '../shared/server.ts'

/** The record functions the local stack runs, each as its own app on its own port. */
export const localFunctions: readonly FunctionDefinition[] = [
  { name: 'create-record', routes: createRecordRoute },
  { name: 'get-record', routes: getRecordRoute },
  { name: 'list-records', routes: listRecordsRoute },
  { name: 'update-record', routes: updateRecordRoute },
  { name: 'delete-record', routes: deleteRecordRoute }
]
