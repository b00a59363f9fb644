// Lint: typescript-eslint's recommended rules, formatting left to prettier,
// and lines of at most 120 columns (prettier cannot break comments or strings).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import prettier from 'eslint-config-prettier'

export default tseslint.config(
  { ignores: ['**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly' } } },
  {
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true }],
      // one concern per file: a file past this is split by concern
      'max-lines': ['error', { max: 450 }],
      // JSON off the wire is checked field by field where it is used; `any` marks those boundaries
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }
      ]
    }
  }
)
