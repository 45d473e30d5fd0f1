// `npm run lint`: ESLint's and typescript-eslint's recommended sets (the type-checked set takes about
// seven times as long and flags mostly tap's unawaited subtests), with the exceptions below, each
// with its reason. test/fixtures/ is data: scanned sample code and layering samples.
//
// typescript-eslint reads source through TypeScript's JavaScript API, which TypeScript 7 (the
// project's `tsc`) no longer ships. TypeScript 6 is installed beside it as `typescript-6` (an npm
// alias; npm links bins in path order, so `tsc` stays TypeScript 7's), and inside this ESLint
// process only, `typescript` resolves to it.
import { registerHooks } from 'node:module'

registerHooks({
  resolve (specifier, context, nextResolve) {
    const api = specifier === 'typescript' || specifier.startsWith('typescript/')
    return nextResolve(api ? `typescript-6${specifier.slice('typescript'.length)}` : specifier, context)
  }
})

const { default: js } = await import('@eslint/js')
const { default: globals } = await import('globals')
const { default: tseslint } = await import('typescript-eslint')

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.tap/', 'coverage/', '.scratch/', 'test/fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      // `catch {}` is how a probe says "not yet, try again" or a read keeps its default.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Destructuring drops fields (`const { pk, ...record } = item`); `_name` marks a value left unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }]
    }
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**', 'knative/scripts/**'],
    // These read parsed YAML, JSON and manifests of no declared type; the assertions are their shape check.
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  }
)
