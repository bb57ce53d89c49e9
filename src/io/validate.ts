/**
 * The one way ulmfit reads JSON it wrote itself (meta.json, config.json, checkpoint state,
 * corpus directories, vocab, labels): parse, then check against a zod schema kept next to the
 * reader, and turn the first violation into one UlmfitError that names the file, the field and
 * the fix. Nothing read from disk reaches the code that uses it unchecked, so a damaged or
 * hand-edited file is a one-line error, never a `TypeError … undefined` deep inside training.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { UlmfitError, type ErrorCode } from '../errors.js';

export { z };

/** How to report a bad file: its error code and the fix (e.g. "write the model directory again"). */
export interface FileProblem {
  code: ErrorCode;
  hint: string;
}

/** `arch.emb_sz`, `ids[3]`: the path of a zod issue as a reader would write it. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out;
}

/** A short description of what was found instead of what the schema wanted. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const field = fieldPath(issue.path);
  const where = field ? `field '${field}'` : 'the top level';
  switch (issue.code) {
    case 'invalid_type':
      return `${where} should be ${issue.expected}${issue.input === undefined ? ' but is missing' : ''}`;
    case 'invalid_value':
      return `${where} should be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

/** Checks an already parsed value; `file` names it in the message. */
export function checkShape<S extends z.ZodType>(
  schema: S,
  value: unknown,
  file: string,
  problem: FileProblem,
): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new UlmfitError(problem.code, `${file}: ${describeIssue(issue)}`, problem.hint);
}

/** Reads `file`, parses its JSON and checks it against `schema`. */
export function readJsonFile<S extends z.ZodType>(
  file: string,
  schema: S,
  problem: FileProblem,
): z.output<S> {
  if (!existsSync(file)) throw new UlmfitError(problem.code, `${file} is missing`, problem.hint);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new UlmfitError(problem.code, `${file} is not valid JSON`, problem.hint);
  }
  return checkShape(schema, value, file, problem);
}

/** A finite number (JSON cannot hold NaN/Inf, but hand edits can put strings or null there). */
export const finite = z.number().refine(Number.isFinite, 'should be a finite number');
/** A whole number ≥ 0. */
export const count = z.number().int().nonnegative();
/** A dropout probability: in [0, 1). */
export const probability = z.number().min(0).lt(1);
/** A hex sha256. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'should be a sha256 (64 hex digits)');
