/**
 * The ULMFiT classifier (fastai `get_text_classifier`, fastai/text/models/core.py): `SentenceEncoder` (BPT3C)
 * over the AWD-LSTM encoder, `masked_concat_pool` (src/compute/concat-pool.ts), and the `PoolingLinearClassifier` head.
 *
 * Deliberate fixes of fastai's quirks (docs/fastai-differences.md), both invisible on well-sorted batches:
 * - the "last" pooled vector is the output at each row's real last token (fastai's index can land
 *   in the never-processed leading pad area and pool a zero vector);
 * - a chunk is run on every row up to the last one that has text in it (fastai assumes the rows
 *   with text form a prefix, `real_bs`, and silently skips a row when they do not), and a row's
 *   state is zeroed at the chunk where its text starts (what fastai's batch-size growth does).
 *
 * Sequences are time-major inside (`[T, bs, …]`); batches come row-major `[bs, L]`, pad-first
 * in whole bptt chunks (`pad_chunk`).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClasBatch } from '../data/batches.js';
import type { PoolSource } from '../config/schema.js';
import { Rng } from '../random.js';
import type { EvalStats, ParamGroup, TrainableModel, TrainLoss } from './trainable.js';
import { AWD_LSTM_CLAS_CONFIG, AwdLstm, type AwdLstmConfig, withDropMult } from './awd-lstm.js';
import { dropoutMask, gatherEmbeddingRows } from './dropout.js';
import { gradientTapeOn } from '../compute/custom-op.js';
import { crossEntropy } from '../compute/cross-entropy.js';
import { linear } from '../compute/linear.js';
import { maskedConcatPool } from '../compute/concat-pool.js';
import {
  loadIntoSlots,
  ownedVariable,
  uniformTensor,
  uniqueModelPrefix,
  type WeightSlot,
} from './weights.js';

/**
 * Features per position that `pool` (config/schema.ts POOL_SOURCES) reads from an encoder of
 * `config`. `last` is fastai's, `emb` wide; `emb+last` puts the embedded input beside it, so the
 * head also sees the word vectors themselves (a bag of word vectors next to the LSTM's summary);
 * `all` adds every LSTM layer's output as well (docs/fastai-differences.md).
 */
export function pooledWidth(config: Readonly<AwdLstmConfig>, pool: PoolSource): number {
  if (pool === 'last') return config.emb_sz;
  if (pool === 'emb+last') return 2 * config.emb_sz;
  // every LSTM layer but the last is n_hid wide; the last is emb_sz (tied to the embedding)
  return 2 * config.emb_sz + (config.n_layers - 1) * config.n_hid;
}

/** What the SentenceEncoder returns for one batch. */
export interface SentenceEncoding {
  /** `[T, bs, emb]` time-major outputs of the kept chunks; rows not run in a chunk are zeros. */
  output: tf.Tensor3D;
  /** `[T, bs, F]` what the pooling reads (`pooledWidth`); `output` itself when the pool is `last`. */
  features: tf.Tensor3D;
  /** `[T, bs]` row-major-in-JS pad mask of the kept positions: 1 = pad. */
  padMask: Uint8Array;
  /** Number of kept time steps T. */
  steps: number;
}

/**
 * fastai's `SentenceEncoder`: runs the encoder over a padded batch in `bptt`-token chunks,
 * carrying the state (gradients stop at each chunk boundary, the encoder detaches its state),
 * keeping the outputs of only the chunks within the last `maxLen` tokens.
 */
export class SentenceEncoder {
  constructor(
    readonly encoder: AwdLstm,
    readonly bptt = 72,
    readonly maxLen = 72 * 20,
    readonly padIdx = 1,
    readonly pool: PoolSource = 'last',
  ) {}

  /**
   * Call inside `tf.tidy` / `tf.variableGrads`. Resets the encoder first: every batch starts
   * from a zero state.
   * @param ids `[bs, seqLen]` row-major token ids, padded pad-first
   */
  forward(ids: Int32Array, bs: number, seqLen: number, training: boolean): SentenceEncoding {
    if (ids.length !== bs * seqLen)
      throw new Error(`SentenceEncoder: ${ids.length} ids do not fill [${bs}, ${seqLen}]`);
    this.encoder.reset();
    const firstText = firstNonPad(ids, bs, seqLen, this.padIdx);
    // With a gradient to compute over several chunks, the embedding's rows are gathered once, so
    // the chunks' lookups send small gradients to them and one [vocab, emb] gradient reaches the
    // embedding, not one per chunk (dropout.ts EmbeddingRows).
    const embeddingRows =
      training && gradientTapeOn() && seqLen > this.bptt
        ? gatherEmbeddingRows(this.encoder.embedding, ids)
        : undefined;
    const outputs: tf.Tensor3D[] = [];
    const featureChunks: tf.Tensor3D[] = [];
    const width = pooledWidth(this.encoder.config, this.pool);
    const keptStarts: number[] = [];
    let rowsRun = 0;
    for (let start = 0; start < seqLen; start += this.bptt) {
      const end = Math.min(start + this.bptt, seqLen);
      const len = end - start;
      // Rows to run: up to the last row with text in this chunk.
      let rows = 0;
      for (let r = 0; r < bs; r++) if (hasText(ids, r, seqLen, start, end, this.padIdx)) rows = r + 1;
      const keep = seqLen - start <= this.maxLen;
      if (rows === 0) {
        // Nothing to read in this chunk (only possible for a badly padded batch).
        if (keep) {
          outputs.push(tf.zeros([len, bs, this.encoder.config.emb_sz]) as tf.Tensor3D);
          if (this.pool !== 'last') featureChunks.push(tf.zeros([len, bs, width]) as tf.Tensor3D);
          keptStarts.push(start);
        }
        continue;
      }
      this.zeroStateWhereTextStarts(firstText, start, end, Math.min(rows, rowsRun));
      const chunk = new Int32Array(len * rows); // time-major [len, rows]
      for (let t = 0; t < len; t++) {
        for (let r = 0; r < rows; r++) chunk[t * rows + r] = ids[r * seqLen + start + t]!;
      }
      const chunkIds = tf.tensor2d(chunk, [len, rows], 'int32');
      const { raw, input } = this.encoder.forward(chunkIds, training, embeddingRows);
      rowsRun = rows;
      if (!keep) continue;
      const padRows = (x: tf.Tensor3D): tf.Tensor3D =>
        rows < bs ? (tf.concat([x, tf.zeros([len, bs - rows, x.shape[2]])], 1) as tf.Tensor3D) : x;
      const last = raw[raw.length - 1]!;
      outputs.push(padRows(last));
      if (this.pool !== 'last') {
        const sources = this.pool === 'all' ? [input, ...raw] : [input, last];
        featureChunks.push(padRows(tf.concat(sources, 2) as tf.Tensor3D));
      }
      keptStarts.push(start);
    }
    const joinChunks = (chunks: tf.Tensor3D[]): tf.Tensor3D =>
      chunks.length === 1 ? chunks[0]! : (tf.concat(chunks, 0) as tf.Tensor3D);
    const output = joinChunks(outputs);
    const features = this.pool === 'last' ? output : joinChunks(featureChunks);
    const steps = output.shape[0];
    const padMask = new Uint8Array(steps * bs);
    let t = 0;
    for (const start of keptStarts) {
      const end = Math.min(start + this.bptt, seqLen);
      for (let pos = start; pos < end; pos++, t++) {
        for (let r = 0; r < bs; r++) padMask[t * bs + r] = ids[r * seqLen + pos] === this.padIdx ? 1 : 0;
      }
    }
    return { output, features, padMask, steps };
  }

  /** A row whose text starts in [start, end) and that was run before begins from zeros. */
  private zeroStateWhereTextStarts(
    firstText: Int32Array,
    start: number,
    end: number,
    rowsWithState: number,
  ): void {
    const state = this.encoder.state;
    if (state === undefined || rowsWithState === 0) return;
    const keepRow = new Float32Array(state[0]!.h.shape[0]).fill(1);
    let any = false;
    for (let r = 0; r < rowsWithState; r++) {
      if (firstText[r]! >= start && firstText[r]! < end) {
        keepRow[r] = 0;
        any = true;
      }
    }
    if (!any) return;
    const next = tf.tidy(() => {
      const keep = tf.tensor2d(keepRow, [keepRow.length, 1]);
      return state.map(({ h, c }) => ({
        h: tf.mul(h, keep) as tf.Tensor2D,
        c: tf.mul(c, keep) as tf.Tensor2D,
      }));
    });
    this.encoder.setState(next);
  }
}

/**
 * Label-smoothed cross-entropy from the plain one: `(1 − ε)·CE + ε·mean_c(−log softmax(logits)_c)`,
 * averaged over rows; the cross-entropy towards the target `(1 − ε)·onehot + ε/classes`.
 * @param logits `[n, classes]`
 * @param crossEntropyMean the mean plain cross-entropy of these logits (a scalar)
 */
export function smoothedLoss(logits: tf.Tensor2D, crossEntropyMean: tf.Scalar, epsilon: number): tf.Scalar {
  const uniform = tf.neg(tf.mean(tf.logSoftmax(logits)));
  return tf.add(tf.mul(1 - epsilon, crossEntropyMean), tf.mul(epsilon, uniform)) as tf.Scalar;
}

/** Index of each row's first non-pad token (seqLen when the row is all pad). */
function firstNonPad(ids: Int32Array, bs: number, seqLen: number, padIdx: number): Int32Array {
  const first = new Int32Array(bs).fill(seqLen);
  for (let r = 0; r < bs; r++) {
    for (let t = 0; t < seqLen; t++) {
      if (ids[r * seqLen + t] !== padIdx) {
        first[r] = t;
        break;
      }
    }
  }
  return first;
}

function hasText(
  ids: Int32Array,
  row: number,
  seqLen: number,
  start: number,
  end: number,
  padIdx: number,
): boolean {
  for (let t = start; t < end; t++) if (ids[row * seqLen + t] !== padIdx) return true;
  return false;
}

/**
 * `BatchNorm1d` with fastai's init (weight 1, bias 1e-3), PyTorch's eps 1e-5 and momentum 0.1:
 * batch statistics and running-stat updates in training, running statistics in eval.
 */
export class BatchNorm1d {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;
  readonly numBatchesTracked: tf.Variable<tf.Rank.R0>;
  readonly eps = 1e-5;
  readonly momentum = 0.1;

  constructor(
    readonly features: number,
    namePrefix: string,
  ) {
    this.weight = ownedVariable(tf.ones([features]) as tf.Tensor1D, `${namePrefix}weight`);
    this.bias = ownedVariable(tf.fill([features], 1e-3) as tf.Tensor1D, `${namePrefix}bias`);
    this.runningMean = ownedVariable(tf.zeros([features]) as tf.Tensor1D, `${namePrefix}running_mean`, false);
    this.runningVar = ownedVariable(tf.ones([features]) as tf.Tensor1D, `${namePrefix}running_var`, false);
    this.numBatchesTracked = ownedVariable(tf.scalar(0, 'int32'), `${namePrefix}num_batches_tracked`, false);
  }

  /**
   * @param x `[bs, features]`
   * @param training batch statistics (and running-stat update) when true and bs > 1; a batch of
   *   one row (where PyTorch raises) is normalised with the running statistics instead
   * @returns `[bs, features]`
   */
  forward(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const bs = x.shape[0];
    if (!training || bs < 2) {
      const scale = tf.div(this.weight, tf.sqrt(tf.add(this.runningVar, this.eps)));
      return tf.add(tf.mul(tf.sub(x, this.runningMean), scale), this.bias) as tf.Tensor2D;
    }
    const { mean, variance } = tf.moments(x, 0);
    const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps)));
    const m = this.momentum;
    const newMean = tf.tidy(() => tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
    // PyTorch tracks the unbiased variance.
    const newVar = tf.tidy(() =>
      tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * bs) / (bs - 1))),
    );
    const newCount = tf.tidy(() => tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    this.runningMean.assign(newMean as tf.Tensor1D);
    this.runningVar.assign(newVar as tf.Tensor1D);
    this.numBatchesTracked.assign(newCount as tf.Scalar);
    tf.dispose([newMean, newVar, newCount]);
    return tf.add(tf.mul(normalised, this.weight), this.bias) as tf.Tensor2D;
  }

  get trainable(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  get all(): tf.Variable[] {
    return [this.weight, this.bias, this.runningMean, this.runningVar, this.numBatchesTracked];
  }
}

/** One `LinBnDrop(n_in, n_out, bn=True, p, act)`: BatchNorm → Dropout → Linear (no bias) → act. */
interface HeadLayer {
  batchNorm: BatchNorm1d;
  dropoutP: number;
  /** `[n_out, n_in]`, PyTorch default init U(-1/sqrt(n_in), 1/sqrt(n_in)). */
  weight: tf.Variable<tf.Rank.R2>;
  relu: boolean;
}

/**
 * fastai's `PoolingLinearClassifier(dims, ps)`: masked concat pooling, then one LinBnDrop per
 * consecutive pair of `dims` (ReLU on all but the last).
 */
export class PoolingLinearClassifier {
  readonly layers: HeadLayer[];
  private readonly rng: Rng;

  /**
   * @param dims e.g. `[3*emb, 50, nClass]`
   * @param ps dropout before each linear layer, e.g. `[output_p, 0.1]`
   */
  constructor(
    readonly dims: number[],
    readonly ps: number[],
    rng: Rng,
    namePrefix: string,
  ) {
    if (ps.length !== dims.length - 1)
      throw new Error('PoolingLinearClassifier: one dropout per linear layer');
    this.rng = rng;
    this.layers = ps.map((p, k) => {
      const nIn = dims[k]!;
      const nOut = dims[k + 1]!;
      const name = `${namePrefix}layers.${k}.`;
      return {
        batchNorm: new BatchNorm1d(nIn, `${name}0.`),
        dropoutP: p,
        weight: ownedVariable(
          uniformTensor([nOut, nIn], 1 / Math.sqrt(nIn), rng) as tf.Tensor2D,
          `${name}${p !== 0 ? 2 : 1}.weight`,
        ),
        relu: k < ps.length - 1,
      };
    });
  }

  /**
   * @param pooled `[bs, dims[0]]` (the output of maskedConcatPool)
   * @returns `[bs, dims[last]]` logits
   */
  forward(pooled: tf.Tensor2D, training: boolean): tf.Tensor2D {
    let x = pooled;
    for (const layer of this.layers) {
      x = layer.batchNorm.forward(x, training);
      if (training && layer.dropoutP !== 0) {
        const mask = dropoutMask(x.shape, layer.dropoutP, this.rng);
        x = tf.mul(x, mask) as tf.Tensor2D;
        mask.dispose();
      }
      x = linear(x, layer.weight);
      if (layer.relu) x = tf.relu(x);
    }
    return x;
  }

  /** fastai's state-dict entries `layers.k.0.*` (BatchNorm) and `layers.k.{2|1}.weight` (Linear). */
  weightSlots(prefix: string): WeightSlot[] {
    return this.layers.flatMap((layer, k) => {
      const bn = `${prefix}layers.${k}.0.`;
      return [
        { name: `${bn}weight`, variable: layer.batchNorm.weight },
        { name: `${bn}bias`, variable: layer.batchNorm.bias },
        { name: `${bn}running_mean`, variable: layer.batchNorm.runningMean },
        { name: `${bn}running_var`, variable: layer.batchNorm.runningVar },
        { name: `${bn}num_batches_tracked`, variable: layer.batchNorm.numBatchesTracked, optional: true },
        { name: `${prefix}layers.${k}.${layer.dropoutP !== 0 ? 2 : 1}.weight`, variable: layer.weight },
      ];
    });
  }

  get trainable(): tf.Variable[] {
    return this.layers.flatMap((layer) => [...layer.batchNorm.trainable, layer.weight]);
  }

  /** BatchNorm weights and biases: fastai's wd_bn_bias=False leaves them undecayed. */
  get normParameters(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.batchNorm.trainable);
  }

  dispose(): void {
    for (const layer of this.layers) tf.dispose([...layer.batchNorm.all, layer.weight]);
  }
}

export interface TextClassifierOptions {
  /** Seed of the model's own Rng (ignored when `rng` is given). Default 42. */
  seed?: number;
  rng?: Rng;
  /** Chunk length of the SentenceEncoder (fastai seq_len, 72). */
  bptt?: number;
  /** Tokens kept for pooling (fastai max_len, 72*20). */
  maxLen?: number;
  /** Hidden sizes of the head (fastai lin_ftrs, [50]). */
  linFtrs?: number[];
  /** Dropout before each hidden linear layer (fastai ps, 0.1 each; not scaled by drop_mult). */
  ps?: number[];
  /** AR coefficient on the encoder output (TextLearner alpha = 2); 0 = off. */
  alpha?: number;
  /** TAR coefficient (beta = 1); 0 = off. */
  beta?: number;
  /**
   * Label smoothing ε of the training loss (fastai LabelSmoothingCrossEntropy): the target puts
   * 1 − ε on the gold class and ε spread evenly over all classes; 0 = plain cross-entropy.
   */
  labelSmoothing?: number;
  /** What the concat pooling reads (`POOL_SOURCES`); fastai's `last` by default. */
  pool?: PoolSource;
}

/**
 * The ULMFiT text classifier (fastai `get_text_classifier`): SentenceEncoder(AWD_LSTM) +
 * PoolingLinearClassifier. `config` holds the final dropouts: use
 * `withDropMult(AWD_LSTM_CLAS_CONFIG, 0.5)` for text_classifier_learner's default.
 */
export class TextClassifier implements TrainableModel<ClasBatch> {
  readonly encoder: AwdLstm;
  readonly sentenceEncoder: SentenceEncoder;
  readonly head: PoolingLinearClassifier;
  readonly rng: Rng;
  readonly numClasses: number;
  alpha: number;
  beta: number;
  readonly labelSmoothing: number;
  readonly pool: PoolSource;
  private training = true;

  constructor(
    vocabSize: number,
    numClasses: number,
    config: Readonly<AwdLstmConfig> = withDropMult(AWD_LSTM_CLAS_CONFIG, 0.5),
    options: TextClassifierOptions = {},
  ) {
    this.rng = options.rng ?? new Rng(options.seed ?? 42);
    this.alpha = options.alpha ?? 2;
    this.beta = options.beta ?? 1;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.pool = options.pool ?? 'last';
    this.numClasses = numClasses;
    const prefix = uniqueModelPrefix('clas');
    this.encoder = new AwdLstm(vocabSize, config, this.rng, `${prefix}0.module.`);
    this.sentenceEncoder = new SentenceEncoder(
      this.encoder,
      options.bptt ?? 72,
      options.maxLen ?? 72 * 20,
      config.pad_token,
      this.pool,
    );
    const linFtrs = options.linFtrs ?? [50];
    const ps = options.ps ?? linFtrs.map(() => 0.1);
    this.head = new PoolingLinearClassifier(
      [pooledWidth(config, this.pool) * 3, ...linFtrs, numClasses],
      [config.output_p, ...ps],
      this.rng,
      `${prefix}1.`,
    );
  }

  get config(): Readonly<AwdLstmConfig> {
    return this.encoder.config;
  }

  /**
   * Logits and the encoder output (for AR/TAR). Call inside tf.tidy / tf.variableGrads.
   * @param ids `[bs, seqLen]` row-major, pad-first
   * @returns logits `[bs, classes]`, encoder output `[T, bs, emb]`
   */
  forward(
    ids: Int32Array,
    bs: number,
    seqLen: number,
    training: boolean,
  ): { logits: tf.Tensor2D; encoded: tf.Tensor3D } {
    const { output, features, padMask } = this.sentenceEncoder.forward(ids, bs, seqLen, training);
    const pooled = maskedConcatPool(features, padMask);
    return { logits: this.head.forward(pooled, training), encoded: output };
  }

  /** The variables `loadEncoderWeights` fills: the embedding and every LSTM layer, not the head. */
  encoderVariables(): tf.Variable[] {
    return [this.encoder.embedding, ...this.encoder.layers.flatMap((_, l) => this.encoder.layerVariables(l))];
  }

  /** fastai `awd_lstm_clas_split`: [embedding], [rnn 0], [rnn 1], [rnn 2], [head]. */
  paramGroups(): ParamGroup[] {
    return [
      { variables: [this.encoder.embedding] },
      ...this.encoder.layers.map((_, l) => ({ variables: this.encoder.layerVariables(l) })),
      { variables: this.head.trainable },
    ];
  }

  noWeightDecay(): Set<string> {
    return new Set(this.head.normParameters.map((v) => v.name));
  }

  /**
   * Mean cross-entropy (label-smoothed when `labelSmoothing` > 0) + AR/TAR on the encoder output
   * (fastai: the padded concatenated output). `reported` is the plain cross-entropy, the quantity
   * the validation loss measures: fastai's train_loss excludes AR/TAR (see TrainLoss,
   * src/model/trainable.ts).
   */
  trainLoss(batch: ClasBatch): TrainLoss {
    this.encoder.releaseRetired();
    const { logits, encoded } = this.forward(batch.x, batch.bs, batch.seqLen, true);
    const reported = tf.mean(crossEntropy(logits, tf.tensor1d(batch.y, 'int32'))) as tf.Scalar;
    let loss = this.labelSmoothing > 0 ? smoothedLoss(logits, reported, this.labelSmoothing) : reported;
    if (this.alpha !== 0) loss = tf.add(loss, tf.mul(this.alpha, tf.mean(tf.square(encoded))));
    const steps = encoded.shape[0];
    if (this.beta !== 0 && steps > 1) {
      const diff = tf.sub(
        tf.slice(encoded, [1, 0, 0], [steps - 1, -1, -1]),
        tf.slice(encoded, [0, 0, 0], [steps - 1, -1, -1]),
      );
      loss = tf.add(loss, tf.mul(this.beta, tf.mean(tf.square(diff))));
    }
    return { loss, reported };
  }

  evalBatch(batch: ClasBatch): EvalStats {
    this.encoder.releaseRetired();
    const [lossSum, predicted] = tf.tidy(() => {
      const { logits } = this.forward(batch.x, batch.bs, batch.seqLen, false);
      return [tf.sum(crossEntropy(logits, tf.tensor1d(batch.y, 'int32'))), tf.argMax(logits, 1)];
    });
    const predictions = Int32Array.from(predicted!.dataSync());
    const stats: EvalStats = {
      lossSum: lossSum!.dataSync()[0]!,
      correct: predictions.reduce((n, p, i) => n + (p === batch.y[i] ? 1 : 0), 0),
      count: batch.bs,
      predictions,
      targets: Int32Array.from(batch.y),
    };
    tf.dispose([lossSum, predicted]);
    this.encoder.releaseRetired();
    return stats;
  }

  /**
   * Class probabilities (softmax), eval mode.
   * @param ids `[bs, seqLen]` row-major, pad-first
   * @returns `[bs, classes]`; the caller owns it
   */
  predictProbabilities(ids: Int32Array, bs: number, seqLen: number): tf.Tensor2D {
    this.encoder.releaseRetired();
    const probabilities = tf.tidy(
      () => tf.softmax(this.forward(ids, bs, seqLen, false).logits) as tf.Tensor2D,
    );
    this.encoder.releaseRetired();
    return probabilities;
  }

  reset(): void {
    this.encoder.reset();
  }

  setTraining(training: boolean): void {
    this.training = training;
  }

  get isTraining(): boolean {
    return this.training;
  }

  /**
   * fastai's classifier state dict: `0.module.` + the AWD_LSTM entries, then the head's
   * `1.layers.k.0.{weight,bias,running_mean,running_var,num_batches_tracked}` and
   * `1.layers.k.2.weight` (`.1.` when that layer has no dropout).
   */
  namedWeights(): Map<string, tf.Variable> {
    return new Map(this.weightSlots().map((slot) => [slot.name, slot.variable]));
  }

  /** Loads a whole classifier state dict (names and shapes checked first). */
  loadWeights(tensors: Map<string, tf.Tensor>): void {
    loadIntoSlots(
      this.weightSlots(),
      tensors,
      this.encoder.ignorableWeights('0.module.'),
      'a text classifier',
    );
    this.reset();
  }

  /**
   * Loads only the encoder from an encoder state dict (`prefix ''`, as fastai's save_encoder
   * writes it) or from an LM state dict (`prefix '0.'`; the decoder entries are ignored).
   */
  loadEncoderWeights(tensors: Map<string, tf.Tensor>, prefix = ''): void {
    const own = new Map(
      [...tensors].filter(([name]) => name.startsWith(prefix) && !name.startsWith('1.decoder.')),
    );
    this.encoder.loadWeights(own, prefix);
  }

  dispose(): void {
    this.head.dispose();
    this.encoder.dispose();
  }

  private weightSlots(): WeightSlot[] {
    return [...this.encoder.weightSlots('0.module.'), ...this.head.weightSlots('1.')];
  }
}
