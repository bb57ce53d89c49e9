/**
 * `<run>/ensemble.json`: what `classify --model <run>` uses, chosen by train-classifier on held-out
 * documents (tasks/ensemble-choice.ts): the networks averaged with the NB-SVM baseline (the
 * default), or the baseline alone where it was clearly better. A run without the file (trained
 * before it existed, or without a baseline) uses the default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UlmfitError } from '../errors.js';
import { writeJsonAtomic } from './atomic.js';

export const ENSEMBLE_CHOICE_FILE = 'ensemble.json';

const count = z.number().int().nonnegative();

/** The file's schema; train-classifier's `--json` prints the same object (cli/json-output.ts). */
export const ENSEMBLE_CHOICE_SCHEMA = z
  .object({
    /** `networks+baseline`: the networks (1/n each) and the baseline (its weight); `baseline`: the baseline alone. */
    use: z.enum(['networks+baseline', 'baseline']),
    baseline_weight: z.number().positive(),
    /** The comparison it was chosen on (see tasks/ensemble-choice.ts). */
    held_out: z
      .object({
        documents: count,
        baseline_right_ensemble_wrong: count,
        ensemble_right_baseline_wrong: count,
      })
      .strict(),
  })
  .strict();

export type EnsembleChoiceFile = z.infer<typeof ENSEMBLE_CHOICE_SCHEMA>;

/** The run's choice, or undefined when it has none (the default then applies). */
export function readEnsembleChoice(runDir: string): EnsembleChoiceFile | undefined {
  const path = join(runDir, ENSEMBLE_CHOICE_FILE);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UlmfitError(
      'E_MODEL_DIR',
      `${path} is not valid JSON (${(error as Error).message})`,
      'delete it to classify with the default ensemble, or train the run again',
    );
  }
  const result = ENSEMBLE_CHOICE_SCHEMA.safeParse(parsed);
  if (!result.success)
    throw new UlmfitError(
      'E_MODEL_DIR',
      `${path} is not an ensemble choice: ${result.error.issues[0]?.path.join('.') ?? ''} ${result.error.issues[0]?.message ?? ''}`.trim(),
      'delete it to classify with the default ensemble, or train the run again',
    );
  return result.data;
}

export function writeEnsembleChoice(runDir: string, choice: EnsembleChoiceFile): void {
  writeJsonAtomic(join(runDir, ENSEMBLE_CHOICE_FILE), choice);
}
