// ESLint (flat config) over src/ and test/: ESLint's and typescript-eslint's recommended rules plus a
// few house rules (`npm run lint`, a step of `npm test`). Layout is Prettier's job (.prettierrc.json).
// No type-aware rules: typescript-eslint's recommendedTypeChecked took ~4x the time (40 s of CPU
// against 11 s) and found no bug here, only 1,425 `!` assertions that strict index types would need.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'fixtures/**', 'models/**', 'runs/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // House rule: no `any` without a reason, given as
      // `// eslint-disable-next-line @typescript-eslint/no-explicit-any -- why`.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // `x == null` (null or undefined) is the one loose comparison allowed.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Library code reports through callbacks and the CLI writes to process.stdout/stderr.
      'no-console': 'error',
    },
  },
  {
    // The benchmarks are programs whose console output is their report (bench/run.js reads the BENCH lines).
    files: ['src/bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
