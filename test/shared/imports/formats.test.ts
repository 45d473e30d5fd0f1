import t from 'tap'
import { formatNamed, formatOfMediaType, formatOfReport, reportFormats, reportMediaTypes } from '../../../shared/imports/formats.ts'
import { importFormatLabel, importFormatLabels } from '../../../shared/records/import-formats.ts'

t.test('a report\'s format comes from its media type, parameters and case aside', async (t) => {
  t.equal(formatOfMediaType('application/sarif+json')?.name, 'sarif')
  t.equal(formatOfMediaType('Application/JSON; charset=utf-8')?.name, 'sarif')
  t.equal(formatOfMediaType('text/csv'), undefined)
  t.equal(formatOfMediaType(undefined), undefined)
})

t.test('the media types the import takes are every format\'s, each once', async (t) => {
  t.same(reportMediaTypes, ['application/sarif+json', 'application/json', 'application/vnd.cyclonedx+json'])
  t.equal(new Set(reportFormats.map((format) => format.name)).size, reportFormats.length, 'format names are unique (they start fingerprints)')
})

t.test('an import stored before formats had names is SARIF', async (t) => {
  t.equal(formatNamed(undefined).name, 'sarif')
  t.equal(formatNamed('sarif').name, 'sarif')
  t.throws(() => formatNamed('csv'), /no report format named csv/)
})

t.test('sent as application/json, a report\'s format is the one its start says; SARIF when none does', async (t) => {
  t.equal(formatOfReport('application/json', '{"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json",\n  "bomFormat" : "CycloneDX"')?.name, 'cyclonedx')
  t.equal(formatOfReport('application/json', '{"version":"2.1.0","runs":[')?.name, 'sarif')
  t.equal(formatOfReport('application/json', '')?.name, 'sarif')
  t.equal(formatOfReport('application/sarif+json', '{"bomFormat":"CycloneDX"')?.name, 'sarif', 'a specific media type is taken at its word')
  t.equal(formatOfReport('application/vnd.cyclonedx+json', '')?.name, 'cyclonedx')
})

t.test('every format the import takes is labelled for people (the console\'s import page), with the title and media types the format has', async (t) => {
  t.same(importFormatLabels.map((label) => label.name), reportFormats.map((format) => format.name))
  for (const format of reportFormats) t.same([format.title, format.mediaTypes], [importFormatLabel(format.name).title, importFormatLabel(format.name).mediaTypes], format.name)
  t.throws(() => importFormatLabel('csv'), /no import format is labelled csv/)
})
