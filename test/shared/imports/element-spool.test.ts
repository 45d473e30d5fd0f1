import t from 'tap'
import { ElementSpool } from '../../../shared/imports/element-spool.ts'

t.test('a spool gives back the elements it was given, in order, across its compressed batches; with names, only those', async (t) => {
  const spool = new ElementSpool()
  const elements = Array.from({ length: 4500 }, (_, i) => ({ 'bom-ref': `c${i}`, name: i === 7 ? 'line\nbreak \u00e9 \ud83d\ude00' : `p${i}` }))
  elements.push({ name: 'no ref' } as { 'bom-ref': string, name: string })
  for (const element of elements) spool.add(element)
  t.same(spool.select('bom-ref'), elements, 'every element, text with line breaks and astral characters included')
  t.same(spool.select('bom-ref', new Set(['c7', 'c2500', 'c4499', 'nowhere'])), [elements[7], elements[2500], elements[4499]], 'from the first batch, a later one and the unsealed rest')
  t.same(new ElementSpool().select('bom-ref'), [])
})
