import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const onlyDbTouchesKysely = {
  name: 'kysely',
  message: 'only db/ touches Kysely (repositories take a DbExecutor)',
};
const apiIsolation = {
  group: ['**/ingest/**', '**/detector/**'],
  message: 'api/ never imports ingest/ or detector/',
};

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'coverage', '.cache', 'out', 'api/public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: [
      'core/**/*.ts',
      'ingest/**/*.ts',
      'detector/**/*.ts',
      'violations/**/*.ts',
      'fines/**/*.ts',
      'pipeline/**/*.ts',
      'apps/**/*.ts',
    ],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [onlyDbTouchesKysely] }] },
  },
  {
    files: ['api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [onlyDbTouchesKysely], patterns: [apiIsolation] },
      ],
    },
  },
);
