/**
 * One pulling process for the concurrency test (run by vite-node, so it needs no build):
 * `pull-child.ts <name>` pulls with the environment it was given and prints the result as JSON.
 */
import { isUlmfitError } from '../../src/errors.js';
import { pull } from '../../src/tasks/pull.js';

try {
  const result = await pull(process.argv[2]!, { retryDelayMs: 50 });
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (err) {
  process.stderr.write((isUlmfitError(err) ? err.toLine() : String((err as Error).stack)) + '\n');
  process.exitCode = 1;
}
