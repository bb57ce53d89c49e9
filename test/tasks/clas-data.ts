/**
 * Tiny labeled data for classifier tests: documents of common words with a few class words mixed
 * in (so a tiny model learns the task in a few epochs), of varied lengths (so batches need
 * padding and several SentenceEncoder chunks), and a tiny language model trained on such text.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/random.js';
import type { ClassifierTrainOptions } from '../../src/tasks/classifier.js';
import { trainLanguageModel } from '../../src/tasks/lm.js';

const COMMON = 'the a of and to in it was on with for as at by this that'.split(' ');
export const CLASS_WORDS: Record<string, string[]> = {
  animal: 'cat dog bird horse cow sheep fox owl'.split(' '),
  vehicle: 'car bus train truck bike ship plane tram'.split(' '),
  plant: 'tree rose oak fern moss grass vine palm'.split(' '),
};

/** One document of `label` with `length` words. */
export function makeDoc(rng: Rng, label: string, length: number): string {
  const own = CLASS_WORDS[label]!;
  return (
    Array.from({ length }, (_, i) =>
      i % 2 === 1 ? own[rng.int(own.length)] : COMMON[rng.int(COMMON.length)],
    ).join(' ') + '.'
  );
}

export interface LabeledRow {
  text: string;
  label: string;
}

export function makeRows(seed: number, perClass: number, labels = ['animal', 'vehicle']): LabeledRow[] {
  const rng = new Rng(seed);
  const rows: LabeledRow[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const label of labels) rows.push({ text: makeDoc(rng, label, 4 + rng.int(20)), label });
  }
  return rows;
}

/** Rows as a CSV file with `text,label` columns. */
export function writeCsv(path: string, rows: readonly LabeledRow[]): string {
  writeFileSync(
    path,
    'text,label\n' + rows.map((r) => `"${r.text.replace(/"/g, '""')}",${r.label}`).join('\n') + '\n',
  );
  return path;
}

/** Rows as JSON lines. */
export function writeJsonl(path: string, rows: readonly LabeledRow[]): string {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** A tiny LM (emb 8, hidden 12, 2 layers) with an encoder/, trained briefly on unlabeled text of all classes. */
export async function trainTinyLm(
  dir: string,
  out = 'lm',
  extra: { backwards?: boolean } = {},
): Promise<string> {
  const rows = makeRows(99, 30, Object.keys(CLASS_WORDS));
  const text = join(dir, `${out}-text.txt`);
  writeFileSync(text, rows.map((r) => r.text).join('\n') + '\n');
  await trainLanguageModel({
    inputs: [text],
    out: join(dir, out),
    lineDocs: true,
    minFreq: 1,
    noCache: true,
    workers: 0,
    emb: 8,
    hidden: 12,
    layers: 2,
    bs: 4,
    bptt: 8,
    backend: 'wasm',
    seed: 1,
    saveEncoder: true,
    stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }],
    ...extra,
  });
  return join(dir, out);
}

/**
 * A tiny classifier run's options (wasm, no cache, 8-token chunks, bs 8, a two-stage recipe of
 * one epoch each, seed 3) on `run`'s inputs and directory; `extra` overrides any of them.
 */
export function tinyClassifierRun(
  run: Pick<ClassifierTrainOptions, 'inputs' | 'out' | 'lm'>,
  extra: Partial<ClassifierTrainOptions> = {},
): ClassifierTrainOptions {
  return {
    noCache: true,
    workers: 0,
    bs: 8,
    bptt: 8,
    maxLen: 16,
    backend: 'wasm',
    seed: 3,
    stages: [
      { freezeTo: -1, epochs: 1, lr: 2e-2 },
      { freezeTo: 0, epochs: 1, lr: 1e-2 },
    ],
    ...run,
    ...extra,
  };
}
