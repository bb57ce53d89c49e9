/**
 * The error catalog. Every error a user can cause is a `UlmfitError` with a stable code, a
 * one-line message that says what and where, and a hint that says how to fix it. The CLI prints
 * `error [CODE]: message (hint)` and exits with `exitCode`; anything that is not a UlmfitError is
 * a bug: one `error [E_INTERNAL]` line asking for a report (cli/fatal.ts), the stack only with
 * ULMFIT_DEBUG=1.
 */
export type ErrorCode =
  | 'E_USAGE' // bad flags or arguments (exit code 2)
  | 'E_INPUT_MISSING' // a path that does not exist
  | 'E_INPUT_EMPTY' // zero documents after reading
  | 'E_INPUT_ENCODING' // bytes that are not valid in the declared encoding
  | 'E_INPUT_FORMAT' // a CSV/JSONL/etc. that cannot be parsed, or lacks a named column
  | 'E_OUT_EXISTS' // refusing to overwrite a non-empty output directory
  | 'E_MODEL_DIR' // a model directory that is missing files or is of the wrong kind
  | 'E_MODEL_MISMATCH' // vocab / tokenizer / architecture / direction disagree between directories
  | 'E_CHECKPOINT' // a .pth/.pkl/.model/.safetensors file that cannot be read
  | 'E_TRAINING' // training diverged (NaN/Inf loss) or cannot proceed
  | 'E_LABELS' // labels that make a classifier impossible (one class, unknown gold labels, ...)
  | 'E_BACKEND' // a requested TF.js backend that is not installed
  | 'E_LOCKED' // another ulmfit process is writing the same run, corpus or cache directory
  | 'E_NUMERIC' // NaN or Inf where a number must be finite (weights, probabilities, metrics)
  | 'E_OUTPUT' // stdout or stderr cannot be written (full disk, I/O error)
  | 'E_INTERNAL' // an unexpected error: a bug (printed as one line; the stack with ULMFIT_DEBUG=1)
  | 'E_DOWNLOAD' // a pull failed: HTTP error, retries used up, wrong size/MD5, damaged archive
  | 'E_OFFLINE' // a pull is needed but the network is off (--offline, ULMFIT_OFFLINE)
  | 'E_DISK_FULL' // no space left where a pull writes (ULMFIT_HOME)
  | 'E_OVERLOADED' // a server's queue is full or it is shutting down (HTTP 429 / 503): retry later
  | 'E_TIMEOUT'; // a request was not answered within its time limit (HTTP 503)

export class UlmfitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'UlmfitError';
    this.code = code;
    this.hint = hint;
    this.exitCode = code === 'E_USAGE' ? 2 : 1;
  }

  /** The single line the CLI prints. */
  toLine(): string {
    return `error [${this.code}]: ${this.message}${this.hint ? ` (${this.hint})` : ''}`;
  }
}

export function usageError(message: string, hint?: string): UlmfitError {
  return new UlmfitError('E_USAGE', message, hint);
}

export function isUlmfitError(value: unknown): value is UlmfitError {
  return value instanceof UlmfitError;
}

/**
 * The index of the first value that is NaN or ±Inf, or -1. One pass, no allocation: cheap
 * enough to run over every weight at load and every output before it is printed.
 */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Inf: one subtraction, no branches on the kind.
    if (values[i]! - values[i]! !== 0) return i;
  }
  return -1;
}

/** Throws E_NUMERIC when `values` hold NaN or Inf; `what` names them for the message. */
export function assertFinite(values: ArrayLike<number>, what: string, hint: string): void {
  const at = firstNonFinite(values);
  if (at >= 0) throw new UlmfitError('E_NUMERIC', `${what} ${String(values[at])} at index ${at}`, hint);
}
