import t from 'tap'
import { formatNamed, formatOfMediaType, reportFormats, reportMediaTypes } from '../../../shared/imports/formats.ts'

t.test('a report\'s format comes from its media type, parameters and case aside', async (t) => {
  t.equal(formatOfMediaType('application/sarif+json')?.name, 'sarif')
  t.equal(formatOfMediaType('Application/JSON; charset=utf-8')?.name, 'sarif')
  t.equal(formatOfMediaType('text/csv'), undefined)
  t.equal(formatOfMediaType(undefined), undefined)
})

t.test('the media types the import takes are every format\'s, each once', async (t) => {
  t.same(reportMediaTypes, ['application/sarif+json', 'application/json'])
  t.equal(new Set(reportFormats.map((format) => format.name)).size, reportFormats.length, 'format names are unique (they start fingerprints)')
})

t.test('an import stored before formats had names is SARIF', async (t) => {
  t.equal(formatNamed(undefined).name, 'sarif')
  t.equal(formatNamed('sarif').name, 'sarif')
  t.throws(() => formatNamed('csv'), /no report format named csv/)
})
