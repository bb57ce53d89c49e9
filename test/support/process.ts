import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  cwd?: string;
  /** Added to the test process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (closed at once without it). */
  input?: string;
}

/**
 * Runs a program to its end and collects its output. Asynchronous, so the test worker's event
 * loop stays free while it runs.
 */
export function runProcess(
  file: string,
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the program may exit before reading stdin (usage errors)
    child.stdin.end(options.input ?? '');
  });
}

/** bin/ulmfit.js, which runs the built dist/ (npm test builds before vitest runs). */
export const ULMFIT_BIN = fileURLToPath(new URL('../../bin/ulmfit.js', import.meta.url));

/** The real CLI, as users run it. */
export function runUlmfit(args: readonly string[], options: ProcessOptions = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [ULMFIT_BIN, ...args], options);
}
