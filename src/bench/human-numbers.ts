/**
 * Acceptance benchmark for the language model (issue 4): fastbook's Human Numbers experiment
 * (fastbook chapter 12). fastai's LMModel7 (2-layer LSTM, 64 hidden, tied weights, dropout 0.4 on the
 * LSTM output, AR/TAR, `fit_one_cycle(15, 1e-2, wd=0.1)`, bs 64, sl 16) reaches 0.869 next-token
 * accuracy in fastbook. ulmfit trains its AWD-LSTM with the same sizes, data, batching and
 * schedule through the real training task (`trainLanguageModel`).
 *
 * Two settings make the AWD-LSTM the same model family as LMModel7 (measured in
 * tools/human_numbers_torch.py, which reproduces LMModel7 and fastai's AWD-LSTM in PyTorch, and
 * here; seed 42):
 * - the embedding (= tied decoder) starts N(0, 1), as LMModel7's nn.Embedding, instead of fastai's
 *   AWD-LSTM U(-0.1, 0.1): with U(-0.1, 0.1) accuracy drops by 0.07–0.13 (ulmfit 0.903 → 0.787,
 *   fastai's AWD-LSTM in PyTorch 0.849 → 0.784);
 * - LMModel7's regularization: only the decoder input is dropped (output_p 0.4, locked; LMModel7's
 *   is element-wise), no embedding/input/weight/hidden dropout. fastai's awd_lstm_lm_config
 *   dropouts (made for WikiText-103) cost a further 0.01–0.1 here.
 * Everything else (sizes, data, batching, AR/TAR, Adam, wd, one-cycle) is the training task's
 * default path; test/train/lm-fit-parity.test.ts shows that path matches PyTorch step for step.
 * Accuracy varies by ±0.02 with the seed (LMModel7 in PyTorch does the same), so the benchmark
 * reports the mean over several seeds.
 *
 *   npm run build && node dist/bench/human-numbers.js
 *
 * Environment:
 *   HUMAN_NUMBERS_EPOCHS     epochs (default 15)
 *   HUMAN_NUMBERS_SEEDS      comma-separated seeds, one run each (default 42,1,2); mean/min/max reported
 *   HUMAN_NUMBERS_CONFIG     JSON AwdLstmConfig values replacing the default dropouts below
 *   HUMAN_NUMBERS_DROP_MULT  use fastai's awd_lstm_lm_config dropouts × this instead (no override)
 *   HUMAN_NUMBERS_EMB_INIT   normal (default: N(0, 1) as LMModel7's nn.Embedding) or uniform
 *                            (fastai's AWD-LSTM U(-0.1, 0.1))
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { humanNumbersTokens } from '../data/human-numbers.js';
import type { AwdLstmConfig, EmbeddingInit } from '../model/awd-lstm.js';
import { trainLanguageModel } from '../tasks/lm.js';

/** LMModel7's regularization in AWD-LSTM terms: only the decoder input is dropped (p 0.4). */
export const LMMODEL7_DROPOUTS: Partial<AwdLstmConfig> = {
  embed_p: 0,
  input_p: 0,
  weight_p: 0,
  hidden_p: 0,
  output_p: 0.4,
};

const EPOCHS = Number(process.env.HUMAN_NUMBERS_EPOCHS ?? 15);
const SEEDS = (process.env.HUMAN_NUMBERS_SEEDS ?? '42,1,2').split(',').map(Number);
const DROP_MULT = process.env.HUMAN_NUMBERS_DROP_MULT;
const CONFIG: Partial<AwdLstmConfig> | undefined =
  DROP_MULT !== undefined
    ? undefined
    : process.env.HUMAN_NUMBERS_CONFIG
      ? (JSON.parse(process.env.HUMAN_NUMBERS_CONFIG) as Partial<AwdLstmConfig>)
      : LMMODEL7_DROPOUTS;

const EMB_INIT = (process.env.HUMAN_NUMBERS_EMB_INIT ?? 'normal') as EmbeddingInit;
if (EMB_INIT !== 'normal' && EMB_INIT !== 'uniform')
  throw new Error(`HUMAN_NUMBERS_EMB_INIT must be normal or uniform, got ${EMB_INIT}`);

interface RunResult {
  seed: number;
  accuracy: number;
  bestAccuracy: number;
  seconds: number;
  backend: string;
}

async function runOnce(seed: number): Promise<RunResult> {
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
      settings: {
        kind: 'word',
        rules: false,
        preRules: [],
        postRules: [],
        lowercase: false,
        addEos: false,
        lang: 'en',
      },
      minFreq: 1,
      noCache: true,
      workers: 0,
      emb: 64,
      hidden: 64,
      layers: 2,
      dropMult: DROP_MULT !== undefined ? Number(DROP_MULT) : 1,
      config: CONFIG,
      embInit: EMB_INIT,
      bs: 64,
      bptt: 16,
      wd: 0.1,
      seed,
      stages: [{ freezeTo: 0, epochs: EPOCHS, lr: 1e-2 }],
      onInfo: (message) => console.log(message),
      onEpochEnd: (row) =>
        console.log(
          `epoch ${row.epoch + 1}: train ${row.trainLoss.toFixed(4)} valid ${row.validLoss?.toFixed(4)} accuracy ${row.accuracy?.toFixed(4)}`,
        ),
    });
    const last = result.history[result.history.length - 1]!;
    return {
      seed,
      accuracy: last.accuracy ?? Number.NaN,
      bestAccuracy: Math.max(...result.history.map((r) => r.accuracy ?? 0)),
      seconds: (performance.now() - started) / 1000,
      backend: result.backend,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const setting =
    CONFIG !== undefined
      ? `config ${JSON.stringify(CONFIG)}`
      : `fastai awd_lstm_lm_config dropouts × ${DROP_MULT}`;
  console.log(
    `human numbers: AWD-LSTM emb 64, hidden 64, 2 layers, ${setting}, embedding init ${EMB_INIT}; bs 64, bptt 16, ${EPOCHS} epochs one-cycle 1e-2, wd 0.1`,
  );
  const runs: RunResult[] = [];
  for (const seed of SEEDS) {
    const run = await runOnce(seed);
    runs.push(run);
    console.log(
      `seed ${seed}: final valid accuracy ${run.accuracy.toFixed(4)} (best ${run.bestAccuracy.toFixed(4)}) in ${run.seconds.toFixed(0)} s on ${run.backend}`,
    );
  }
  const accuracies = runs.map((r) => r.accuracy);
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  console.log(
    `final valid accuracy ${mean.toFixed(4)}${runs.length > 1 ? ` (mean of ${runs.length} seeds, min ${Math.min(...accuracies).toFixed(4)}, max ${Math.max(...accuracies).toFixed(4)})` : ''}` +
      ` (fastai LMModel7: 0.8694; target ≥ 0.87)`,
  );
  console.log(
    'BENCH ' +
      JSON.stringify({
        name: 'human-numbers',
        accuracy: mean,
        runs: runs.map(({ seed, accuracy, bestAccuracy, seconds }) => ({
          seed,
          accuracy,
          best_accuracy: bestAccuracy,
          seconds,
        })),
        config: CONFIG ?? { drop_mult: Number(DROP_MULT) },
        emb_init: EMB_INIT,
        fastai_lmmodel7: 0.869385,
        epochs: EPOCHS,
        backend: runs[0]?.backend,
      }),
  );
}

await main();
