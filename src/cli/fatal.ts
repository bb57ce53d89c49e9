/**
 * The last line of defence: whatever reaches the top of the CLI becomes one line on stderr and a
 * non-zero exit. A UlmfitError prints its own line; a failed write to stdout (a full disk, an I/O
 * error) is E_OUTPUT; anything else is a bug, printed as one E_INTERNAL line that asks for a
 * report, with the stack only when ULMFIT_DEBUG=1.
 */
import { isUlmfitError, UlmfitError } from '../errors.js';

/** Errors of the output stream itself: nothing more can be printed to it. */
const OUTPUT_ERRORS = new Set(['ENOSPC', 'EIO', 'EPIPE', 'EDQUOT', 'EFBIG', 'EBADF']);

/** Whether `err` is a failed write (to stdout, stderr or a file being written). */
export function isOutputError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return (
    !!e &&
    typeof e === 'object' &&
    typeof e.code === 'string' &&
    OUTPUT_ERRORS.has(e.code) &&
    e.syscall === 'write'
  );
}

/** The UlmfitError a failed output write means. */
export function outputError(err: NodeJS.ErrnoException, stream = 'the output'): UlmfitError {
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EIO: 'an I/O error',
    EPIPE: 'the reader closed the pipe',
    EFBIG: 'the file is too large',
  };
  return new UlmfitError(
    'E_OUTPUT',
    `cannot write to ${stream}: ${why[err.code!] ?? err.code}`,
    'free space or write the output elsewhere',
  );
}

/** Writes one line to stderr, ignoring a stderr that cannot be written (there is nowhere else to say it). */
function writeError(line: string): void {
  try {
    process.stderr.write(line + '\n');
  } catch {
    // stderr itself is broken: the exit code still reports the failure
  }
}

/** Prints `err` as one line (or the stack with ULMFIT_DEBUG=1) and returns the exit code. */
export function reportError(err: unknown): number {
  const debug = process.env.ULMFIT_DEBUG === '1';
  if (debug && err instanceof Error && !isUlmfitError(err)) writeError(err.stack ?? String(err));
  if (isUlmfitError(err)) {
    writeError(err.toLine());
    if (debug && err.stack) writeError(err.stack);
    return err.exitCode;
  }
  if (isOutputError(err)) {
    writeError(outputError(err).toLine());
    return 1;
  }
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = new UlmfitError(
    'E_INTERNAL',
    `unexpected ${what.split('\n')[0]}`,
    'this is a bug in ulmfit: please report it with the command you ran; ULMFIT_DEBUG=1 shows the stack',
  ).toLine();
  writeError(line);
  return 1;
}
