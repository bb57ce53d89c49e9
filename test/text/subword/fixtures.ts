/** The fixtures of tools/spm_fixtures.mjs (fixtures/spm/). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../fixtures/spm/', import.meta.url));

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(dir + name));
}

/** The training text, one sentence per line (after fastai's rules). */
export function trainingLines(): string[] {
  return readFileSync(dir + 'train.txt', 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

export interface Expected {
  vocabSize: number;
  probes: string[];
  /** spm_encode's pieces for each probe with spm_train.model and with ulmfit.model. */
  spm_train: string[][];
  ulmfit: string[][];
}

export function expected(): Expected {
  return JSON.parse(readFileSync(dir + 'expected.json', 'utf8')) as Expected;
}
