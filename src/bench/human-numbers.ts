/**
 * Acceptance benchmark for the language model (issue 4): fastbook's Human Numbers experiment
 * (fastai-spec §9.1). fastai's LMModel7 (2-layer LSTM, 64 hidden, tied weights, dropout, AR/TAR,
 * `fit_one_cycle(15, 1e-2, wd=0.1)`, bs 64, sl 16) reaches 0.869 next-token accuracy.
 * ulmfit trains its AWD-LSTM with the same sizes and schedule through the real training task.
 *
 *   npm run build && node bench/run.js human-numbers
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { humanNumbersTokens } from '../data/human-numbers.js';
import { trainLanguageModel } from '../tasks/lm.js';

const EPOCHS = Number(process.env.HUMAN_NUMBERS_EPOCHS ?? 15);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-human-numbers-'));
  try {
    const { train, valid } = humanNumbersTokens();
    writeFileSync(join(dir, 'train.txt'), train.join(' ') + '\n');
    writeFileSync(join(dir, 'valid.txt'), valid.join(' ') + '\n');
    const started = performance.now();
    const result = await trainLanguageModel({
      inputs: [join(dir, 'train.txt')],
      valid: [join(dir, 'valid.txt')],
      out: join(dir, 'run'),
      settings: { kind: 'word', rules: false, preRules: [], postRules: [], lowercase: false, addEos: false, lang: 'en' },
      minFreq: 1,
      noCache: true,
      workers: 0,
      emb: 64,
      hidden: 64,
      layers: 2,
      dropMult: Number(process.env.HUMAN_NUMBERS_DROP_MULT ?? 1),
      bs: 64,
      bptt: 16,
      wd: 0.1,
      stages: [{ freezeTo: 0, epochs: EPOCHS, lr: 1e-2 }],
      onEpochEnd: (row) => console.log(`epoch ${row.epoch + 1}: train ${row.trainLoss.toFixed(4)} valid ${row.validLoss?.toFixed(4)} accuracy ${row.accuracy?.toFixed(4)}`),
    });
    const last = result.history[result.history.length - 1]!;
    const seconds = (performance.now() - started) / 1000;
    console.log(`final valid accuracy ${last.accuracy?.toFixed(4)} (fastai LMModel7: 0.8694; target ≥ 0.87) in ${seconds.toFixed(0)} s on ${result.backend}`);
    console.log('BENCH ' + JSON.stringify({ name: 'human-numbers', accuracy: last.accuracy, best_accuracy: Math.max(...result.history.map((r) => r.accuracy ?? 0)), fastai_lmmodel7: 0.869385, epochs: EPOCHS, seconds, backend: result.backend }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
