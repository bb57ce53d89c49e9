import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // TF.js wasm and worker threads behave best in separate processes.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tokenized corpora that tests cache go to one temporary folder, not the user's cache (~/.cache/ulmfit/corpora).
    env: { ULMFIT_CACHE_DIR: join(tmpdir(), 'ulmfit-test-corpora') },
  },
});
