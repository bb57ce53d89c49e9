import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Number of separate writes to stdout (generate streams its text in pieces). */
  writes: number;
}

/** Runs `ulmfit ...args` in this process (no spawn, no build needed) and captures what it writes. */
export async function runInProcess(...args: string[]): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  let writes = 0;
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    writes++;
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(['node', 'ulmfit', ...args]), stdout, stderr, writes };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
