/**
 * fastai's AWD-LSTM (`fastai/text/models/awdlstm.py`): the encoder, and the language
 * model = encoder + tied `LinearDecoder`. Weights keep PyTorch's shapes and fastai's state-dict
 * names, so a fastai checkpoint loads by name.
 *
 * Sequences are time-major inside (`[T, bs, …]`, see lstm.ts); the public batch API takes the
 * loaders' row-major `[bs, T]` ids.
 *
 * Ownership: the recurrent state is owned by the encoder (kept out of every tidy). A state that is
 * replaced is "retired", not disposed at once, because the pending backward pass of the batch
 * that used it may still need it; the model releases retired state at the start of its next call.
 */
import * as tf from '@tensorflow/tfjs';
import { totalmem } from 'node:os';
import { archFields, type AwdLstmConfig } from '../config/awd-lstm.js';
import { usageError } from '../errors.js';
import type { LmBatch } from '../data/batches.js';
import { Rng } from '../random.js';
import type { EvalStats, ParamGroup, TrainableModel, TrainLoss } from './trainable.js';
import { embeddingDropout, rnnDropout, weightDropout, type EmbeddingRows } from './dropout.js';
import { crossEntropy } from '../compute/cross-entropy.js';
import { DerivedWeightCache } from '../compute/derived-weights.js';
import { linear } from '../compute/linear.js';
import { chunkRowsFor, linearCrossEntropy } from '../compute/linear-cross-entropy.js';
import { lstmLayer, type LstmState } from '../compute/lstm.js';
import { timeMajorIds } from './ops.js';
import {
  loadIntoSlots,
  normalTensor,
  ownedVariable,
  uniformTensor,
  uniqueModelPrefix,
  type WeightSlot,
} from './weights.js';

export type { AwdLstmConfig } from '../config/awd-lstm.js';

/** fastai's `awd_lstm_lm_config`. */
export const AWD_LSTM_LM_CONFIG: Readonly<AwdLstmConfig> = Object.freeze({
  emb_sz: 400,
  n_hid: 1152,
  n_layers: 3,
  pad_token: 1,
  hidden_p: 0.15,
  input_p: 0.25,
  embed_p: 0.02,
  weight_p: 0.2,
  output_p: 0.1,
  tie_weights: true,
  out_bias: true,
});

/** fastai's `awd_lstm_clas_config` (tie_weights/out_bias do not apply to a classifier). */
export const AWD_LSTM_CLAS_CONFIG: Readonly<AwdLstmConfig> = Object.freeze({
  emb_sz: 400,
  n_hid: 1152,
  n_layers: 3,
  pad_token: 1,
  hidden_p: 0.3,
  input_p: 0.4,
  embed_p: 0.05,
  weight_p: 0.5,
  output_p: 0.4,
  tie_weights: true,
  out_bias: true,
});

const DROPOUTS = archFields('probability');

/**
 * fastai's `drop_mult`: every `*_p` of the config multiplied by `dropMult` (LM default 1,
 * text_classifier_learner default 0.5).
 */
export function withDropMult(config: Readonly<AwdLstmConfig>, dropMult: number): AwdLstmConfig {
  const scaled = { ...config };
  for (const key of DROPOUTS) scaled[key] = config[key] * dropMult;
  return scaled;
}

/** Weights of an AWD-LSTM encoder (embedding + LSTM layers), as allocated below. */
export function encoderParameterCount(
  vocabSize: number,
  config: Pick<AwdLstmConfig, 'emb_sz' | 'n_hid' | 'n_layers'>,
): number {
  let count = vocabSize * config.emb_sz;
  for (let l = 0; l < config.n_layers; l++) {
    const nIn = l === 0 ? config.emb_sz : config.n_hid;
    const nH = l === config.n_layers - 1 ? config.emb_sz : config.n_hid;
    count += 4 * nH * (nIn + nH + 2);
  }
  return count;
}

/**
 * Refuses, before anything is allocated, a config that cannot train: sizes that are not whole
 * numbers ≥ 1, a dropout outside [0, 1) (a --drop-mult that pushes one to 1 or past it), or a
 * model whose weights, gradients and two Adam moments (16 bytes a weight) exceed this machine's
 * memory: TF.js would otherwise fail deep inside with a RangeError.
 */
export function checkAwdLstmConfig(vocabSize: number, config: Readonly<AwdLstmConfig>): void {
  for (const key of archFields('size')) {
    if (!Number.isSafeInteger(config[key]) || config[key] < 1)
      throw usageError(`the model's ${key} must be a whole number ≥ 1, got ${config[key]}`);
  }
  if (!Number.isSafeInteger(vocabSize) || vocabSize < 1)
    throw usageError(`the vocabulary size must be a whole number ≥ 1, got ${vocabSize}`);
  for (const key of DROPOUTS) {
    const p = config[key];
    if (!(p >= 0 && p < 1)) {
      throw usageError(
        `dropout ${key} would be ${p}; a dropout probability must be in [0, 1)`,
        'lower --drop-mult (it scales every dropout of the model)',
      );
    }
  }
  const bytes = 16 * encoderParameterCount(vocabSize, config);
  if (bytes > totalmem()) {
    const gb = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GB`;
    throw usageError(
      `a model of vocab ${vocabSize}, emb ${config.emb_sz}, hidden ${config.n_hid}, ${config.n_layers} layers needs about ${gb(bytes)} to train; this machine has ${gb(totalmem())}`,
      'choose smaller --emb / --hidden / --layers / --max-vocab',
    );
  }
}

/** The parameters of one LSTM layer, PyTorch shapes. */
export interface LstmLayerVariables {
  /** `[4H, H]` `weight_hh_l0_raw`: weight dropout is applied to it on every training call. */
  weightHhRaw: tf.Variable<tf.Rank.R2>;
  /** `[4H, in]` */
  weightIh: tf.Variable<tf.Rank.R2>;
  /** `[4H]` */
  biasIh: tf.Variable<tf.Rank.R1>;
  /** `[4H]` */
  biasHh: tf.Variable<tf.Rank.R1>;
}

/** Per-layer outputs of one encoder call, each `[T, bs, H_l]` time-major. */
export interface EncoderOutput {
  /** The LSTM outputs. `raw[n_layers-1]` is what fastai's AWD_LSTM returns. */
  raw: tf.Tensor3D[];
  /** After the between-layer RNNDropout (the last layer's entry equals its raw output). */
  dropped: tf.Tensor3D[];
  /** `[T, bs, emb]` the first layer's input: the embedding after embedding and input dropout. */
  input: tf.Tensor3D;
}

/**
 * The AWD-LSTM encoder: embedding (+ embedding and input dropout) and `n_layers` LSTMs with weight
 * dropout and hidden dropout, carrying its state across calls (detached after each call: the
 * truncated-BPTT point).
 */
export class AwdLstm {
  readonly vocabSize: number;
  readonly config: Readonly<AwdLstmConfig>;
  /** `[vocab, emb_sz]`, U(-0.1, 0.1) over the whole matrix, pad row included (fastai). */
  readonly embedding: tf.Variable<tf.Rank.R2>;
  readonly layers: LstmLayerVariables[];

  private readonly rng: Rng;
  private hidden: LstmState[] | undefined;
  private batchSize = 0;
  private retired: tf.Tensor[] = [];
  /** Transposed weights for eval-mode calls, reused until the weights change. */
  private readonly inferenceCache = new DerivedWeightCache();

  /**
   * @param rng drives the initialisation (drawn here, in order) and every dropout mask later
   * @param namePrefix unique prefix of the TF.js variable names
   */
  constructor(
    vocabSize: number,
    config: Readonly<AwdLstmConfig>,
    rng: Rng,
    namePrefix = uniqueModelPrefix('awd'),
  ) {
    checkAwdLstmConfig(vocabSize, config);
    this.vocabSize = vocabSize;
    this.config = { ...config };
    this.rng = rng;
    this.embedding = ownedVariable(
      uniformTensor([vocabSize, config.emb_sz], 0.1, rng) as tf.Tensor2D,
      `${namePrefix}encoder.weight`,
    );
    this.layers = [];
    for (let l = 0; l < config.n_layers; l++) {
      const nIn = this.inputSize(l);
      const nH = this.hiddenSize(l);
      // PyTorch's nn.LSTM default init: every parameter U(-1/sqrt(H), 1/sqrt(H)).
      const bound = 1 / Math.sqrt(nH);
      const name = `${namePrefix}rnns.${l}.`;
      this.layers.push({
        weightHhRaw: ownedVariable(
          uniformTensor([4 * nH, nH], bound, rng) as tf.Tensor2D,
          `${name}weight_hh_l0_raw`,
        ),
        weightIh: ownedVariable(
          uniformTensor([4 * nH, nIn], bound, rng) as tf.Tensor2D,
          `${name}module.weight_ih_l0`,
        ),
        biasIh: ownedVariable(uniformTensor([4 * nH], bound, rng) as tf.Tensor1D, `${name}module.bias_ih_l0`),
        biasHh: ownedVariable(uniformTensor([4 * nH], bound, rng) as tf.Tensor1D, `${name}module.bias_hh_l0`),
      });
    }
  }

  /** Input size of layer `l`. */
  inputSize(l: number): number {
    return l === 0 ? this.config.emb_sz : this.config.n_hid;
  }

  /** Hidden size of layer `l` (the last layer's is emb_sz). */
  hiddenSize(l: number): number {
    return l === this.config.n_layers - 1 ? this.config.emb_sz : this.config.n_hid;
  }

  /**
   * One call over a chunk of text, continuing from the carried state.
   * Call inside `tf.tidy` or `tf.variableGrads`: the returned tensors belong to the caller's scope.
   * @param ids `[T, bs]` int32 token ids, time-major (see `timeMajorIds`)
   * @param training dropout on
   * @param rows in training, the embedding's rows gathered once for several calls
   *   (`gatherEmbeddingRows`, dropout.ts); they must hold every id of `ids`
   * @returns per-layer outputs `[T, bs, H_l]`
   */
  forward(ids: tf.Tensor2D, training: boolean, rows?: EmbeddingRows): EncoderOutput {
    const [, bs] = ids.shape;
    this.prepareState(bs);
    const { embed_p, input_p, weight_p, hidden_p, pad_token, n_layers } = this.config;
    const embedded = embeddingDropout(
      this.embedding,
      ids,
      embed_p,
      pad_token,
      training,
      this.rng,
      rows,
    ) as tf.Tensor3D;
    const input = rnnDropout(embedded, input_p, training, this.rng);
    let x = input;
    const raw: tf.Tensor3D[] = [];
    const dropped: tf.Tensor3D[] = [];
    const newHidden: LstmState[] = [];
    for (let l = 0; l < n_layers; l++) {
      const layer = this.layers[l]!;
      const weights = {
        weightIh: layer.weightIh,
        weightHh: weightDropout(layer.weightHhRaw, weight_p, training, this.rng),
        biasIh: layer.biasIh,
        biasHh: layer.biasHh,
      };
      // In eval mode the weights are the variables themselves: what the layer derives from them
      // (transposes) is kept across calls.
      const inference = training ? undefined : { cache: this.inferenceCache, key: `rnn${l}` };
      const { output, state } = lstmLayer(x, weights, this.hidden![l]!, inference);
      newHidden.push(state); // detached and kept
      raw.push(output);
      x = l < n_layers - 1 ? rnnDropout(output, hidden_p, training, this.rng) : output;
      dropped.push(x);
    }
    this.retire(this.hidden!);
    this.hidden = newHidden;
    return { raw, dropped, input };
  }

  /** Forgets the carried state: the next call starts from zeros (fastai `reset`). */
  reset(): void {
    if (this.hidden !== undefined) this.retire(this.hidden);
    this.hidden = undefined;
  }

  /**
   * Disposes state replaced by earlier calls. Call when no backward pass that used it is pending
   * (the models do it at the start of each batch).
   */
  releaseRetired(): void {
    tf.dispose(this.retired);
    this.retired = [];
  }

  /** The carried state per layer (`{h, c}` each `[bs, H_l]`), or undefined after a reset. */
  get state(): readonly LstmState[] | undefined {
    return this.hidden;
  }

  /**
   * Replaces the carried state (the SentenceEncoder uses it to carry rows across chunks). Takes
   * ownership of the given tensors (they are kept); the old state is retired.
   */
  setState(state: LstmState[]): void {
    if (state.length !== this.config.n_layers)
      throw new Error(`setState: expected ${this.config.n_layers} layers`);
    if (this.hidden !== undefined) this.retire(this.hidden);
    this.hidden = state.map(({ h, c }) => ({ h: tf.keep(h), c: tf.keep(c) }));
    this.batchSize = state[0]!.h.shape[0];
  }

  /**
   * fastai's state-dict entries of the AWD_LSTM module, in order, under `prefix` (`''` for an
   * encoder file as save_encoder writes it, `'0.'` inside a language model, `'0.module.'` inside a
   * classifier). `encoder_dp.emb.weight` is the same variable as `encoder.weight`.
   */
  namedWeights(prefix = ''): Map<string, tf.Variable> {
    return new Map(this.weightSlots(prefix).map((slot) => [slot.name, slot.variable]));
  }

  /** The slots behind `namedWeights`, plus the v1 names that loading may skip. */
  weightSlots(prefix = ''): WeightSlot[] {
    const slots: WeightSlot[] = [
      { name: `${prefix}encoder.weight`, variable: this.embedding },
      { name: `${prefix}encoder_dp.emb.weight`, variable: this.embedding, alias: true },
    ];
    this.layers.forEach((layer, l) => {
      const name = `${prefix}rnns.${l}.`;
      slots.push(
        { name: `${name}weight_hh_l0_raw`, variable: layer.weightHhRaw },
        { name: `${name}module.weight_ih_l0`, variable: layer.weightIh },
        { name: `${name}module.bias_ih_l0`, variable: layer.biasIh },
        { name: `${name}module.bias_hh_l0`, variable: layer.biasHh },
      );
    });
    return slots;
  }

  /**
   * fastai v1 checkpoints also hold each layer's dropped copy `rnns.l.module.weight_hh_l0`, which
   * fastai's `clean_raw_keys` deletes; loading skips it after checking its shape.
   */
  ignorableWeights(prefix = ''): Map<string, number[]> {
    return new Map(
      this.layers.map((layer, l) => [`${prefix}rnns.${l}.module.weight_hh_l0`, layer.weightHhRaw.shape]),
    );
  }

  /**
   * Loads an encoder state dict (fastai names under `prefix`, v1 or v2 layout). Names and shapes
   * are checked before anything is assigned. The embedding comes from `encoder.weight`.
   */
  loadWeights(tensors: Map<string, tf.Tensor>, prefix = ''): void {
    loadIntoSlots(this.weightSlots(prefix), tensors, this.ignorableWeights(prefix), 'an AWD-LSTM encoder');
    this.reset();
  }

  /** Trainable variables of layer `l` in state-dict order. */
  layerVariables(l: number): tf.Variable[] {
    const layer = this.layers[l]!;
    return [layer.weightHhRaw, layer.weightIh, layer.biasIh, layer.biasHh];
  }

  /** Frees every variable and the state. The model is unusable afterwards. */
  dispose(): void {
    this.reset();
    this.releaseRetired();
    this.inferenceCache.dispose();
    this.embedding.dispose();
    for (const l of this.layers.keys()) tf.dispose(this.layerVariables(l));
  }

  /** Zero state for a new sequence, or fastai's resize when the batch size changed. */
  private prepareState(bs: number): void {
    if (this.hidden === undefined) {
      this.hidden = this.layers.map((_, l) => ({
        h: tf.keep(tf.zeros([bs, this.hiddenSize(l)])) as tf.Tensor2D,
        c: tf.keep(tf.zeros([bs, this.hiddenSize(l)])) as tf.Tensor2D,
      }));
    } else if (bs !== this.batchSize) {
      // New rows start from zeros; a smaller batch keeps the first rows.
      const resize = (t: tf.Tensor2D): tf.Tensor2D =>
        tf.keep(
          tf.tidy(() =>
            bs > this.batchSize
              ? tf.concat([t, tf.zeros([bs - this.batchSize, t.shape[1]])], 0)
              : tf.slice(t, [0, 0], [bs, t.shape[1]]),
          ),
        );
      const old = this.hidden;
      this.hidden = old.map(({ h, c }) => ({ h: resize(h), c: resize(c) }));
      this.retire(old);
    }
    this.batchSize = bs;
  }

  private retire(state: readonly LstmState[]): void {
    for (const { h, c } of state) this.retired.push(h, c);
  }
}

export interface LanguageModelOptions {
  /** Seed of the model's own Rng (ignored when `rng` is given). Default 42. */
  seed?: number;
  /** The generator for init and dropout masks (e.g. the learner's, to save its state). */
  rng?: Rng;
  /** AR coefficient (fastai TextLearner alpha = 2); 0 switches AR off. */
  alpha?: number;
  /** TAR coefficient (beta = 1); 0 switches TAR off. */
  beta?: number;
  /**
   * Embedding (= tied decoder) initialisation: `'uniform'` is fastai's AWD-LSTM U(-0.1, 0.1) (the
   * default); `'normal'` is N(0, 1), PyTorch's `nn.Embedding` default, which fastbook's small
   * LMModel7 uses (see src/bench/human-numbers.ts: worth ~0.07 accuracy there).
   */
  embInit?: EmbeddingInit;
}

export type EmbeddingInit = 'uniform' | 'normal';

/**
 * The AWD-LSTM language model (fastai `get_language_model`): encoder + `LinearDecoder` (output
 * RNNDropout, then a linear layer tied to the embedding, with bias). Implements the learner's
 * contract for LM batches.
 */
export class LanguageModel implements TrainableModel<LmBatch> {
  readonly encoder: AwdLstm;
  /** `[vocab, emb]`: the embedding itself when `tie_weights` (fastai's default). */
  readonly decoderWeight: tf.Variable<tf.Rank.R2>;
  /** `[vocab]`, zeros at init; undefined when `out_bias` is false. */
  readonly decoderBias: tf.Variable<tf.Rank.R1> | undefined;
  readonly rng: Rng;
  /** AR coefficient (on the dropped last-layer output); 0 = off. */
  alpha: number;
  /** TAR coefficient (on the raw last-layer output); 0 = off. */
  beta: number;

  private training = true;
  /** The decoder weight transposed, for eval-mode calls. */
  private readonly inferenceCache = new DerivedWeightCache();

  constructor(
    vocabSize: number,
    config: Readonly<AwdLstmConfig> = AWD_LSTM_LM_CONFIG,
    options: LanguageModelOptions = {},
  ) {
    this.rng = options.rng ?? new Rng(options.seed ?? 42);
    this.alpha = options.alpha ?? 2;
    this.beta = options.beta ?? 1;
    const prefix = uniqueModelPrefix('lm');
    this.encoder = new AwdLstm(vocabSize, config, this.rng, `${prefix}0.`);
    if (options.embInit === 'normal') {
      const normal = normalTensor([vocabSize, config.emb_sz], 1, this.rng);
      this.encoder.embedding.assign(normal as tf.Tensor2D);
      normal.dispose();
    }
    // fastai draws the decoder weight U(-0.1, 0.1) and then replaces it when tied.
    const decoderInit = uniformTensor([vocabSize, config.emb_sz], 0.1, this.rng) as tf.Tensor2D;
    if (config.tie_weights) {
      decoderInit.dispose();
      this.decoderWeight = this.encoder.embedding;
    } else {
      this.decoderWeight = ownedVariable(decoderInit, `${prefix}1.decoder.weight`);
    }
    this.decoderBias = config.out_bias
      ? ownedVariable(tf.zeros([vocabSize]) as tf.Tensor1D, `${prefix}1.decoder.bias`)
      : undefined;
  }

  get config(): Readonly<AwdLstmConfig> {
    return this.encoder.config;
  }

  get vocabSize(): number {
    return this.encoder.vocabSize;
  }

  /** fastai `awd_lstm_lm_split`: one group per LSTM layer, then embedding + decoder last. */
  paramGroups(): ParamGroup[] {
    const groups: ParamGroup[] = this.encoder.layers.map((_, l) => ({
      variables: this.encoder.layerVariables(l),
    }));
    const last: tf.Variable[] = [this.encoder.embedding];
    if (this.decoderWeight !== this.encoder.embedding) last.push(this.decoderWeight);
    if (this.decoderBias !== undefined) last.push(this.decoderBias);
    groups.push({ variables: last });
    return groups;
  }

  /** The decoder bias (fastai's wd_bn_bias=False skips module `.bias`; LSTM biases are decayed). */
  noWeightDecay(): Set<string> {
    return new Set(this.decoderBias === undefined ? [] : [this.decoderBias.name]);
  }

  /**
   * Mean next-token cross-entropy + AR + TAR, dropout on (fastai's RNNRegularizer). TAR is skipped for
   * one-token batches (fastai's guard tests the batch dimension instead, and a one-token batch
   * gives it a NaN; we test the time dimension). `reported` is the plain cross-entropy: fastai's
   * train_loss excludes AR/TAR (see TrainLoss, src/model/trainable.ts).
   */
  trainLoss(batch: LmBatch): TrainLoss {
    this.encoder.releaseRetired();
    const ids = timeMajorIds(batch.x, batch.bs, batch.seqLen);
    const targets = timeMajorIds(batch.y, batch.bs, batch.seqLen).reshape([-1]) as tf.Tensor1D;
    const { raw } = this.encoder.forward(ids, true);
    const last = raw[raw.length - 1]!; // [T, bs, emb]
    const dropped = rnnDropout(last, this.config.output_p, true, this.rng);
    // The decoder and its loss in one operation, over chunks of positions: the [T*bs, vocab]
    // logits never exist whole (src/compute/linear-cross-entropy.ts).
    const flat = dropped.reshape([batch.seqLen * batch.bs, this.config.emb_sz]) as tf.Tensor2D;
    const reported = linearCrossEntropy(flat, this.decoderWeight, this.decoderBias, targets);
    let loss = reported;
    if (this.alpha !== 0) loss = tf.add(loss, tf.mul(this.alpha, tf.mean(tf.square(dropped))));
    if (this.beta !== 0 && batch.seqLen > 1) {
      const steps = batch.seqLen - 1;
      const later = tf.slice(last, [1, 0, 0], [steps, -1, -1]);
      const earlier = tf.slice(last, [0, 0, 0], [steps, -1, -1]);
      loss = tf.add(loss, tf.mul(this.beta, tf.mean(tf.square(tf.sub(later, earlier)))));
    }
    return { loss, reported };
  }

  /** Summed cross-entropy and next-token accuracy counts with dropout off; carries state. */
  evalBatch(batch: LmBatch): EvalStats {
    this.encoder.releaseRetired();
    const [lossSum, correct] = tf.tidy(() => {
      const ids = timeMajorIds(batch.x, batch.bs, batch.seqLen);
      const targets = timeMajorIds(batch.y, batch.bs, batch.seqLen).reshape([-1]) as tf.Tensor1D;
      const { raw } = this.encoder.forward(ids, false);
      const n = batch.seqLen * batch.bs;
      const flat = raw[raw.length - 1]!.reshape([n, this.config.emb_sz]) as tf.Tensor2D;
      // Chunks of positions, as in training: one chunk's [rows, vocab] logits at a time. Per row
      // the same numbers as over the whole batch, so the sums are too.
      const rows = chunkRowsFor(n, this.vocabSize);
      const losses: tf.Tensor1D[] = [];
      const hits: tf.Scalar[] = [];
      for (let start = 0; start < n; start += rows) {
        const size = Math.min(rows, n - start);
        const [chunkLosses, chunkHits] = tf.tidy(() => {
          const logits = this.decodeForInference(
            size === n ? flat : (tf.slice(flat, [start, 0], [size, -1]) as tf.Tensor2D),
          ); // [size, vocab]
          const chunkTargets = size === n ? targets : (tf.slice(targets, [start], [size]) as tf.Tensor1D);
          const hit = tf.equal(tf.argMax(logits, 1), chunkTargets);
          return [crossEntropy(logits, chunkTargets), tf.sum(tf.cast(hit, 'int32')) as tf.Scalar] as const;
        });
        losses.push(chunkLosses);
        hits.push(chunkHits);
      }
      return [
        tf.sum(losses.length === 1 ? losses[0]! : tf.concat(losses)),
        hits.length === 1 ? hits[0]! : tf.addN(hits),
      ];
    });
    const stats = {
      lossSum: lossSum!.dataSync()[0]!,
      correct: correct!.dataSync()[0]!,
      count: batch.bs * batch.seqLen,
    };
    tf.dispose([lossSum, correct]);
    return stats;
  }

  /**
   * Inference logits for every position (eval mode), continuing from the carried state.
   * @param ids `[bs, seqLen]` row-major token ids
   * @returns `[bs, seqLen, vocab]`; the caller owns it
   */
  forwardLogits(ids: Int32Array, bs: number, seqLen: number): tf.Tensor3D {
    this.encoder.releaseRetired();
    return tf.tidy(() => {
      const { raw } = this.encoder.forward(timeMajorIds(ids, bs, seqLen), false);
      // Batch-major before the decoder: transposing [T, bs, emb] costs emb/vocab of transposing the logits.
      const last = raw[raw.length - 1]!.transpose([1, 0, 2]) as tf.Tensor3D; // [bs, T, emb]
      const logits = this.decodeForInference(last.reshape([bs * seqLen, last.shape[2]]) as tf.Tensor2D);
      return logits.reshape([bs, seqLen, this.vocabSize]) as tf.Tensor3D;
    });
  }

  /**
   * Inference logits at the last position only (what generation needs), eval mode, carrying state.
   * @param ids `[bs, seqLen]` row-major token ids
   * @returns `[bs, vocab]`; the caller owns it
   */
  lastLogits(ids: Int32Array, bs: number, seqLen: number): tf.Tensor2D {
    this.encoder.releaseRetired();
    return tf.tidy(() => {
      const { raw } = this.encoder.forward(timeMajorIds(ids, bs, seqLen), false);
      const last = raw[raw.length - 1]!;
      const final = tf
        .slice(last, [seqLen - 1, 0, 0], [1, -1, -1])
        .reshape([bs, this.config.emb_sz]) as tf.Tensor2D;
      return this.decodeForInference(final);
    });
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
   * fastai's LM state dict, in order: `0.encoder.weight`, `0.encoder_dp.emb.weight`, per layer
   * `0.rnns.l.weight_hh_l0_raw`, `0.rnns.l.module.{weight_ih_l0,bias_ih_l0,bias_hh_l0}`, then
   * `1.decoder.weight`, `1.decoder.bias`. Tied names map to the same variable.
   */
  namedWeights(): Map<string, tf.Variable> {
    return new Map(this.weightSlots().map((slot) => [slot.name, slot.variable]));
  }

  /**
   * Loads a fastai LM state dict (v1 or v2 layout; see `namedWeights`). Checks every name and
   * shape before assigning anything; resets the state. With tied weights the embedding comes
   * from `0.encoder.weight` and the other two copies are only shape-checked.
   */
  loadWeights(tensors: Map<string, tf.Tensor>): void {
    loadIntoSlots(
      this.weightSlots(),
      tensors,
      this.encoder.ignorableWeights('0.'),
      'an AWD-LSTM language model',
    );
    this.reset();
  }

  /** Number of distinct trainable parameters (tied weights counted once). */
  parameterCount(): number {
    return this.paramGroups().reduce((n, g) => n + g.variables.reduce((m, v) => m + v.size, 0), 0);
  }

  /** Frees the variables and state. */
  dispose(): void {
    this.inferenceCache.dispose();
    if (this.decoderWeight !== this.encoder.embedding) this.decoderWeight.dispose();
    this.decoderBias?.dispose();
    this.encoder.dispose();
  }

  private weightSlots(): WeightSlot[] {
    const tied = this.decoderWeight === this.encoder.embedding;
    const slots = this.encoder.weightSlots('0.');
    slots.push({ name: '1.decoder.weight', variable: this.decoderWeight, alias: tied });
    if (this.decoderBias !== undefined) slots.push({ name: '1.decoder.bias', variable: this.decoderBias });
    return slots;
  }

  /**
   * The decoder in eval mode, its transposed weight kept across calls (no gradient reaches it).
   * @param x `[n, emb]`
   * @returns `[n, vocab]`
   */
  private decodeForInference(x: tf.Tensor2D): tf.Tensor2D {
    return linear(x, this.decoderWeight, this.decoderBias, { cache: this.inferenceCache, key: 'decoder' });
  }
}
