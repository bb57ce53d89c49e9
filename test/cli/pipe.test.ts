import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Runs the CLI with its stdout already closed by the reader (as `ulmfit --help | head -1` ends
 * up once head exits), so every write the CLI makes fails with EPIPE.
 */
function runWithClosedStdout(
  args: string[],
  input: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ulmfit.js', ...args]);
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

describe('a reader that closes the pipe early', () => {
  it.each([
    ['--help', ['--help']],
    ['tokenize', ['tokenize', '-', '--quiet']],
  ])('stops `ulmfit %s` quietly with exit code 0 (no EPIPE stack trace)', async (_name, args) => {
    const run = await runWithClosedStdout(args, 'hello world\n'.repeat(20_000));
    expect(run.stderr).not.toMatch(/EPIPE|Error/);
    expect(run.code).toBe(0);
  });
});
