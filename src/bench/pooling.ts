/**
 * Benchmark: the classifier's masked concat pooling (src/compute/concat-pool.ts) as TF.js ops and
 * as one JavaScript pass, inside whole classifier training steps at `en`'s size (emb 100, hidden
 * 512, 2 layers; a batch of 40 documents of 144 tokens, what train-classifier runs on the few-label
 * benchmark's 100 labels a class), for each pooling of `--pool`: the head alone (a frozen stage)
 * and every layer training, and inference. The two implementations alternate within each round,
 * so a change in the machine's load hits both; the table gives the median of the rounds' ratios
 * with their range. Ends with a `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js pooling
 *   ULMFIT_BENCH_ROUNDS=7 node dist/bench/pooling.js
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { initBackend } from '../backend.js';
import { maskedConcatPoolOp } from '../compute/concat-pool.js';
import { POOL_SOURCES, type PoolSource } from '../config/schema.js';
import { AWD_LSTM_CLAS_CONFIG, type AwdLstmConfig, withDropMult } from '../model/awd-lstm.js';
import { TextClassifier } from '../model/heads.js';
import { Rng } from '../random.js';

const ROUNDS = Number(process.env.ULMFIT_BENCH_ROUNDS ?? 5);
const STEPS = 2;
const [BS, SEQ_LEN, VOCAB, CLASSES] = [40, 144, 6000, 4];
const CONFIG: AwdLstmConfig = {
  ...withDropMult(AWD_LSTM_CLAS_CONFIG, 0.5),
  emb_sz: 100,
  n_hid: 512,
  n_layers: 2,
};
const IMPLEMENTATIONS = ['tfjs', 'js'] as const;
const WORK = ['head only', 'every layer', 'inference'] as const;
type Work = (typeof WORK)[number];

/** Milliseconds per call of `work` on `model`, with the pooling run by `impl`. */
function time(model: TextClassifier, work: Work, impl: string, ids: Int32Array, y: Int32Array): number {
  const variables =
    work === 'head only' ? model.head.trainable : model.paramGroups().flatMap((g) => g.variables);
  const once = () => {
    if (work === 'inference') {
      const probabilities = model.predictProbabilities(ids, BS, SEQ_LEN);
      probabilities.dataSync();
      probabilities.dispose();
      return;
    }
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => model.trainLoss({ x: ids, y, bs: BS, seqLen: SEQ_LEN, indices: new Int32Array(BS) }).loss,
        variables,
      );
      tf.dispose(grads);
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  return maskedConcatPoolOp.using(impl, () => {
    once();
    const start = performance.now();
    for (let i = 0; i < STEPS; i++) once();
    return (performance.now() - start) / STEPS;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const backend = await initBackend('auto');
  const rng = new Rng(0);
  const ids = Int32Array.from({ length: BS * SEQ_LEN }, () => 2 + rng.int(VOCAB - 2));
  const y = Int32Array.from({ length: BS }, (_, i) => i % CLASSES);
  console.log(
    `backend ${backend}, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}; emb 100, hidden 512, 2 layers, ` +
      `${BS} documents of ${SEQ_LEN} tokens; ms per step, median of ${ROUNDS} rounds (${STEPS} steps each)`,
  );
  console.log(
    `${'pool'.padEnd(9)} | ${'work'.padEnd(11)} | ${'TF.js ops'.padStart(9)} | ${'JS pass'.padStart(9)} | ops / JS (range)`,
  );
  const rows: Array<{
    pool: PoolSource;
    work: Work;
    ms: Record<string, number>;
    ratio: number;
    range: [number, number];
  }> = [];
  for (const pool of POOL_SOURCES) {
    const model = new TextClassifier(VOCAB, CLASSES, CONFIG, { seed: 1, pool });
    try {
      for (const work of WORK) {
        model.setTraining(work !== 'inference');
        const ms: Record<string, number[]> = { tfjs: [], js: [] };
        const ratios: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          for (const impl of IMPLEMENTATIONS) ms[impl]!.push(time(model, work, impl, ids, y));
          ratios.push(ms.tfjs![round]! / ms.js![round]!);
        }
        const row = {
          pool,
          work,
          ms: { tfjs: median(ms.tfjs!), js: median(ms.js!) },
          ratio: median(ratios),
          range: [Math.min(...ratios), Math.max(...ratios)] as [number, number],
        };
        rows.push(row);
        console.log(
          `${pool.padEnd(9)} | ${work.padEnd(11)} | ${row.ms.tfjs.toFixed(0).padStart(9)} | ${row.ms.js.toFixed(0).padStart(9)} | ` +
            `${row.ratio.toFixed(2)}x (${row.range[0].toFixed(2)}–${row.range[1].toFixed(2)})`,
        );
      }
    } finally {
      model.dispose();
    }
  }
  console.log('BENCH ' + JSON.stringify({ benchmark: 'pooling', backend, rounds: ROUNDS, rows }));
}

await main();
