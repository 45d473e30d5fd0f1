import t from 'tap'
import { expressions } from '../../../shared/store/expressions.ts'

t.test('names and values come from the placeholders, each spelled once', async (t) => {
  t.same(expressions({
    UpdateExpression: 'SET #status = :running, #outboxPk = :pk REMOVE leaseOwner',
    ConditionExpression: '#status IN (:queued, :running) AND #version = :version'
  }, { running: 'running', queued: 'queued', version: 3, pk: 'p', unused: 1 }, { outboxPk: 'gsi9pk' }), {
    UpdateExpression: 'SET #status = :running, #outboxPk = :pk REMOVE leaseOwner',
    ConditionExpression: '#status IN (:queued, :running) AND #version = :version',
    ExpressionAttributeNames: { '#status': 'status', '#outboxPk': 'gsi9pk', '#version': 'version' },
    ExpressionAttributeValues: { ':running': 'running', ':pk': 'p', ':queued': 'queued', ':version': 3 }
  }, 'an unused value is left out (DynamoDB refuses one)')
})

t.test('an expression without placeholders sends no names or values', async (t) => {
  t.same(expressions({ ConditionExpression: 'attribute_not_exists(pk)' }), { ConditionExpression: 'attribute_not_exists(pk)' })
})

t.test('a placeholder without a value is a mistake caught before the store sees it', async (t) => {
  t.throws(() => expressions({ ConditionExpression: '#version = :expected' }, {}), /no value for :expected/)
})
