import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/random.js';
import type { EvalStats, ParamGroup, TrainableModel, TrainLoss } from '../../src/model/trainable.js';

/**
 * A tiny model for learner tests (not the AWD-LSTM): a 2-layer MLP classifier with dropout whose
 * masks are seeded from the run's Rng, so resuming must restore the rng to reproduce a run.
 * Two parameter groups: [hidden layer], [output layer]; the output bias gets no weight decay.
 */
export interface ToyBatch {
  /** Features, `[bs, nIn]` row-major. */
  x: Float32Array;
  /** Class per row, `[bs]`. */
  y: Int32Array;
  bs: number;
}

let instance = 0;

export class ToyModel implements TrainableModel<ToyBatch> {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  training = true;
  resets = 0;
  /** When set, trainLoss returns NaN for the batch with this index (counted over all calls). */
  nanAtCall: number | null = null;
  /** When true, trainLoss returns {loss: ce + 10, reported: ce}. */
  splitLoss = false;
  private calls = 0;

  constructor(
    readonly nIn: number,
    readonly nHidden: number,
    readonly nClasses: number,
    initSeed: number,
    private readonly rng: Rng,
    readonly dropout = 0.2,
  ) {
    const id = instance++;
    this.w1 = tf.tidy(() =>
      tf.variable(tf.randomNormal([nIn, nHidden], 0, 0.5, 'float32', initSeed), true, `toy${id}.w1`),
    );
    this.b1 = tf.tidy(() => tf.variable(tf.zeros([nHidden]), true, `toy${id}.b1`));
    this.w2 = tf.tidy(() =>
      tf.variable(tf.randomNormal([nHidden, nClasses], 0, 0.5, 'float32', initSeed + 1), true, `toy${id}.w2`),
    );
    this.b2 = tf.tidy(() => tf.variable(tf.zeros([nClasses]), true, `toy${id}.b2`));
  }

  paramGroups(): ParamGroup[] {
    return [{ variables: [this.w1, this.b1] }, { variables: [this.w2, this.b2] }];
  }

  noWeightDecay(): Set<string> {
    return new Set([this.b2.name]);
  }

  /** @returns logits `[bs, nClasses]` */
  private forward(batch: ToyBatch): tf.Tensor2D {
    const x = tf.tensor2d(batch.x, [batch.bs, this.nIn]);
    let h = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1));
    if (this.training && this.dropout > 0) {
      const keep = tf
        .randomUniform(h.shape, 0, 1, 'float32', this.rng.seedForOp())
        .greaterEqual(this.dropout);
      h = h.mul(keep.cast('float32')).div(1 - this.dropout);
    }
    return tf.add(tf.matMul(h, this.w2), this.b2) as tf.Tensor2D;
  }

  trainLoss(batch: ToyBatch): tf.Scalar | TrainLoss {
    const call = this.calls++;
    const ce = tf.losses.softmaxCrossEntropy(
      tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.nClasses),
      this.forward(batch),
    );
    const loss = call === this.nanAtCall ? ce.mul(Number.NaN) : ce;
    return this.splitLoss
      ? { loss: loss.add(10) as tf.Scalar, reported: loss as tf.Scalar }
      : (loss as tf.Scalar);
  }

  evalBatch(batch: ToyBatch): EvalStats {
    const logits = this.forward(batch);
    const labels = tf.tensor1d(batch.y, 'int32');
    const losses = tf.losses.softmaxCrossEntropy(
      tf.oneHot(labels, this.nClasses),
      logits,
      undefined,
      undefined,
      tf.Reduction.NONE,
    );
    const predictions = Int32Array.from(logits.argMax(1).dataSync());
    const lossSum = losses.sum().dataSync()[0]!;
    const correct = predictions.reduce((n, p, i) => n + (p === batch.y[i] ? 1 : 0), 0);
    return { lossSum, correct, count: batch.bs, predictions, targets: Int32Array.from(batch.y) };
  }

  reset(): void {
    this.resets += 1;
  }

  setTraining(training: boolean): void {
    this.training = training;
  }

  weights(): number[][] {
    return [this.w1, this.b1, this.w2, this.b2].map((v) => Array.from(v.dataSync()));
  }

  setWeights(weights: number[][]): void {
    [this.w1, this.b1, this.w2, this.b2].forEach((v, i) => v.assign(tf.tensor(weights[i]!, v.shape)));
  }

  dispose(): void {
    [this.w1, this.b1, this.w2, this.b2].forEach((v) => v.dispose());
  }
}

/** Three Gaussian blobs in `nIn` dimensions; items are (features, class). */
export function blobs(n: number, nIn: number, rng: Rng): { x: Float32Array[]; y: number[] } {
  const centers = [0, 1, 2].map((c) => Array.from({ length: nIn }, (_, d) => (d % 3 === c ? 2 : -1)));
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const cls = rng.int(3);
    x.push(Float32Array.from(centers[cls]!, (c) => c + 0.8 * rng.normal()));
    y.push(cls);
  }
  return { x, y };
}

/** A batch source over items, shuffled per pass from `rng` when given; the last partial batch is dropped when shuffling. */
export function toySource(data: { x: Float32Array[]; y: number[] }, bs: number, rng: Rng | null) {
  const n = data.y.length;
  const numBatches = rng ? Math.floor(n / bs) : Math.ceil(n / bs);
  return {
    numBatches,
    batches(): Iterable<ToyBatch> {
      const order = rng ? rng.permutation(n) : Array.from({ length: n }, (_, i) => i);
      const out: ToyBatch[] = [];
      for (let b = 0; b < numBatches; b++) {
        const rows = order.slice(b * bs, (b + 1) * bs);
        const nIn = data.x[0]!.length;
        const x = new Float32Array(rows.length * nIn);
        rows.forEach((i, r) => x.set(data.x[i]!, r * nIn));
        out.push({ x, y: Int32Array.from(rows, (i) => data.y[i]!), bs: rows.length });
      }
      return out;
    },
  };
}
