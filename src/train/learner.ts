import * as tf from '@tensorflow/tfjs';
import { UlmfitError, usageError } from '../errors.js';
import type { EvalStats, TrainableModel } from '../model/trainable.js';
import type { Rng, RngState } from '../random.js';
import { accuracy, macroF1, perplexity, SmoothLoss, type SmoothLossState } from '../metrics.js';
import { ownedFloat32 } from '../compute/read-values.js';
import { Adam, type AdamHypers } from './optimizer.js';
import { groupLrs, oneCycle, TEXT_MOMS, type LrSpec, type OneCycleOptions } from './schedule.js';

/**
 * A generic trainer (fastai's `Learner` with the callbacks ULMFiT uses: TrainEvalCallback,
 * Recorder, ParamScheduler, ModelResetter, optional GradientClip). It knows nothing about the
 * model: it asks it for parameter groups, a loss to differentiate and evaluation counts
 * (`TrainableModel`), and reads batches from `BatchSource`s.
 *
 * Call sequence (what `ulmfit finetune-lm` / `train-classifier` do):
 *
 *   const rng = new Rng(seed);                      // the one generator: model masks, shuffles
 *   const model = ...;                              // a TrainableModel<Batch> drawing from rng
 *   const learner = new Learner(model, {
 *     train: new LmStream(trainDocs, { bs, bptt, shuffle: true, rng }),
 *     valid: new LmStream(validDocs, { bs, bptt }),
 *     rng, wd: 0.01, clip: undefined,
 *     onBatchEnd: (info) => progress.update(info),
 *     onEpochEnd: async (row, l) => {               // checkpoint at every epoch end
 *       await saveModel(runDir, model);             // weights: the io layer's job
 *       await saveLearnerState(runDir, l.getState());
 *       appendJsonl(runDir, row);
 *     },
 *   });
 *   // optional, before training:  learner.setState(loadedState)   (after loading the weights)
 *   await learner.fitRecipe([
 *     { freezeTo: -1, epochs: 1, lr: 2e-2 },                      // fastai freeze(); fit_one_cycle(1, 2e-2)
 *     { freezeTo: 0, epochs: 10, lr: 2e-3 },                      // unfreeze(); fit_one_cycle(10, 2e-3)
 *   ]);
 *
 * `fitRecipe` is `freezeTo` + `fitOneCycle` per stage, and it is what makes `--resume` exact: after
 * `setState`, it skips the stages and epochs already done and does not re-freeze (freezing clears
 * the optimizer state, as fastai's `Learner.freeze_to` does). `fitOneCycle`, `freezeTo` and `unfreeze` can also be
 * called directly, as in fastai.
 *
 * Determinism: checkpoints are taken at epoch ends. The state saved then (optimizer moments and
 * step counts, hypers, frozen groups, rng state, smoothed loss, position) plus the model weights
 * is everything the rest of the run depends on, so a resumed run ends with the same weights as an
 * uninterrupted one on the same backend. Each training pass calls `train.batches()` once at its
 * start (a training source shuffles from the rng then) and resets the model.
 */

/** Where batches come from: a pass over the data per epoch (LmStream and SortedBatches fit). */
export interface BatchSource<Batch> {
  /** Batches one pass yields (fastai `len(dl)`); the schedule needs it before the pass. */
  readonly numBatches: number;
  /** A new pass; a training source reshuffles here, drawing from its rng. */
  batches(): Iterable<Batch>;
}

export interface LearnerOptions<Batch extends { bs: number }> {
  train: BatchSource<Batch>;
  /** Without one, epoch rows have null valid loss, accuracy and perplexity. */
  valid?: BatchSource<Batch> | undefined;
  /** The run's generator; its state is saved in checkpoints. */
  rng: Rng;
  /** Decoupled weight decay for every group (fastai: Adam's own 0.01 when the Learner's wd is None). */
  wd?: number | undefined;
  /** β1 one-cycle schedule; the text learners' (0.8, 0.7, 0.8) by default. */
  moms?: readonly [number, number, number] | undefined;
  /** Clip the global gradient norm to this (fastai `GradientClip`); off by default, as fastai. */
  clip?: number | undefined;
  /** Adam's other hyper-parameters (sqr_mom 0.99, eps 1e-5). */
  adam?: Partial<Pick<AdamHypers, 'sqrMom' | 'eps'>> | undefined;
  /**
   * Pull these variables towards the values they hold when the learner is made (L2-SP: Adam's
   * `anchorTo`); no anchor or decay 0: plain training, as fastai.
   */
  anchor?: { variables: readonly tf.Variable[]; decay: number } | undefined;
  onBatchEnd?: ((info: BatchInfo) => void) | undefined;
  /** Awaited before the next epoch starts: the place to save a checkpoint. */
  onEpochEnd?: ((row: EpochRow, learner: Learner<Batch>) => void | Promise<void>) | undefined;
  /** Milliseconds clock for the time column (tests replace it). */
  now?: (() => number) | undefined;
}

/** The outcome of a training step taken by a `TrainStepper`. */
export interface StepperResult {
  /** The differentiated loss; not finite: the step was not applied. */
  loss: number;
  /** The loss to report (fastai train_loss). */
  reported: number;
  /** The gradient norm before clipping, when clipping; not finite: the step was not applied. */
  gradNorm?: number | undefined;
}

/**
 * Takes over the learner's training steps (data-parallel training, src/train/data-parallel.ts):
 * `step` trains the learner's model on `batch` at its optimizer's current hypers and frozen
 * groups, and applies no update when the loss or the gradient norm is not finite.
 */
export interface TrainStepper<Batch> {
  step(batch: Batch): Promise<StepperResult>;
  /** Called when the optimizer state was cleared or replaced (freeze_to, setState). */
  optimizerChanged?(): void;
}

export interface BatchInfo {
  stage: number;
  epoch: number;
  epochs: number;
  /** Batch index inside the epoch. */
  batch: number;
  numBatches: number;
  /** This batch's reported loss. */
  loss: number;
  /** fastai's smoothed train loss after this batch. */
  smoothLoss: number;
  /** Learning rate of the last group and β1, as fastai's Recorder logs them. */
  lr: number;
  mom: number;
}

/** One row of the results table (and one line of metrics.jsonl). */
export interface EpochRow {
  /** Index of the fit call (recipe stage), from 0. */
  stage: number;
  /** Epoch inside this fit call, from 0 (fastai's `epoch` column). */
  epoch: number;
  /** Epochs of this fit call. */
  epochs: number;
  /** Smoothed training loss after the epoch's last batch (fastai `train_loss`). */
  trainLoss: number;
  validLoss: number | null;
  accuracy: number | null;
  perplexity: number | null;
  /** Macro-F1 when the model reports predictions (classifiers). */
  f1Macro?: number | undefined;
  /** Wall time of the epoch (training + validation). */
  seconds: number;
}

export interface ValidationResult {
  /** fastai `AvgLoss`: batch mean losses weighted by batch rows (bs). */
  loss: number;
  accuracy: number;
  perplexity: number;
  /** Present when the model reports predictions; in batch order (use the batches' indices to un-sort). */
  predictions?: Int32Array | undefined;
  targets?: Int32Array | undefined;
  f1Macro?: number | undefined;
}

export interface FitOptions extends OneCycleOptions {
  /** Sets weight decay for every group from now on (fastai `fit(wd=...)`). */
  wd?: number | undefined;
  /** Epochs of this call already done (resume); normally taken from `setState`. */
  startEpoch?: number | undefined;
}

/** One stage of a training recipe: freeze, then one one-cycle fit. */
export interface Stage extends FitOptions {
  /** fastai `freeze_to(n)` before this stage (−1 = freeze(), 0 = unfreeze()); undefined leaves it. */
  freezeTo?: number | undefined;
  epochs: number;
  lr: LrSpec;
}

/** Where a training run stands: stage (fit call) index and epochs of it finished. */
export interface TrainingPosition {
  stage: number;
  epochsDone: number;
  epochs: number;
}

/**
 * The learner's part of a checkpoint. `meta` is JSON; `tensors` are the optimizer moments, to be
 * written as float32 tensors (e.g. safetensors) under their keys. The model's weights are saved
 * separately by the caller.
 */
export interface LearnerState {
  meta: LearnerStateMeta;
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

/** `LearnerState` with the optimizer's moments as its own tensors (`Learner.getLiveState`). */
export interface LiveLearnerState {
  meta: LearnerStateMeta;
  moments: Map<string, tf.Tensor>;
}

export interface LearnerStateMeta {
  format: 'ulmfit-learner-state';
  version: 1;
  position: TrainingPosition;
  rng: RngState;
  smoothLoss: SmoothLossState;
  optimizer: {
    hypers: AdamHypers[];
    frozenGroups: number;
    /** Per-parameter step counts; moments are in tensors under `opt.<group>.<index>.grad_avg|sqr_avg`. */
    params: { group: number; index: number; name: string; shape: number[]; step: number }[];
  };
  history: EpochRow[];
}

export class Learner<Batch extends { bs: number }> {
  readonly model: TrainableModel<Batch>;
  readonly optimizer: Adam;
  readonly history: EpochRow[] = [];
  private readonly options: LearnerOptions<Batch>;
  private readonly smoothLoss = new SmoothLoss(0.98);
  private readonly moms: readonly [number, number, number];
  private stage = 0;
  private position: TrainingPosition = { stage: 0, epochsDone: 0, epochs: 0 };
  private resumeAt: TrainingPosition | null = null;
  private readonly now: () => number;
  private stepper: TrainStepper<Batch> | undefined;

  constructor(model: TrainableModel<Batch>, options: LearnerOptions<Batch>) {
    this.model = model;
    this.options = options;
    this.moms = options.moms ?? TEXT_MOMS;
    this.now = options.now ?? (() => performance.now());
    if (options.clip !== undefined && !(options.clip > 0)) {
      throw usageError(
        `--clip must be a positive number, got ${options.clip}`,
        'e.g. 0.1; leave it out for no clipping',
      );
    }
    const groups = model.paramGroups().map((group) => group.variables);
    this.optimizer = new Adam(groups, model.noWeightDecay(), {
      ...(options.wd !== undefined ? { wd: options.wd } : {}),
      ...options.adam,
    });
    if (options.anchor !== undefined) this.optimizer.anchorTo(options.anchor.variables, options.anchor.decay);
  }

  /** fastai `Learner.freeze_to(n)`: freeze groups `[:n]`, then clear the optimizer state. */
  freezeTo(n: number): void {
    this.optimizer.freezeTo(n);
    this.optimizer.clearState();
    this.stepper?.optimizerChanged?.();
  }

  /** Routes `fitOneCycle`'s training steps through `stepper` (undefined: back to `trainBatch`). */
  useStepper(stepper: TrainStepper<Batch> | undefined): void {
    // The steppers run their own AdamW in each replica, which knows no anchors.
    if (stepper !== undefined && this.optimizer.anchored)
      throw new Error('a learner with anchors (L2-SP) trains on one thread: no data-parallel stepper');
    this.stepper = stepper;
  }

  /** fastai `freeze()`: only the last group trains. */
  freeze(): void {
    this.freezeTo(-1);
  }

  /** fastai `unfreeze()`: every group trains. */
  unfreeze(): void {
    this.freezeTo(0);
  }

  /** Runs the stages in order; after `setState`, continues where the checkpoint stopped. */
  async fitRecipe(stages: readonly Stage[]): Promise<EpochRow[]> {
    const resume = this.resumeAt;
    const rows: EpochRow[] = [];
    for (let s = 0; s < stages.length; s++) {
      const stage = stages[s] as Stage;
      if (resume !== null && s < resume.stage) continue;
      const resuming = resume !== null && s === resume.stage;
      if (!resuming && stage.freezeTo !== undefined) this.freezeTo(stage.freezeTo);
      this.stage = s;
      rows.push(...(await this.fitOneCycle(stage.epochs, stage.lr, stage)));
    }
    return rows;
  }

  /**
   * fastai `fit_one_cycle(epochs, lr_max, div, div_final, pct_start, wd, moms)`: per-group lr
   * `combined_cos(pct_start, lrMax/div, lrMax, lrMax/div_final)` and β1 `combined_cos(pct_start,
   * *moms)`, updated before every training batch at position (batches done)/(epochs·batches).
   * Each epoch: reset + train pass, reset + validation pass, a row to `onEpochEnd`.
   * @param lrMax one lr, one per group, or a `{lo, hi}` range (discriminative, even_mults)
   */
  async fitOneCycle(epochs: number, lrMax: LrSpec, options: FitOptions = {}): Promise<EpochRow[]> {
    const { train } = this.options;
    const numBatches = train.numBatches;
    if (numBatches === 0) {
      throw new UlmfitError(
        'E_TRAINING',
        'the training data yields no batches',
        'give more text, or a smaller --bs (an LM needs more than bs tokens; a classifier at least bs documents)',
      );
    }
    if (!Number.isInteger(epochs) || epochs < 0)
      throw usageError(`epochs must be an integer ≥ 0, got ${epochs}`);
    let startEpoch = options.startEpoch ?? 0;
    if (options.startEpoch === undefined && this.resumeAt !== null && this.resumeAt.stage === this.stage) {
      startEpoch = this.resumeAt.epochsDone;
    }
    this.resumeAt = null;
    const lrs = groupLrs(lrMax, this.optimizer.numGroups);
    this.optimizer.setHyper('lr', lrs);
    if (options.wd !== undefined) this.optimizer.setHyper('wd', options.wd);
    const schedule = oneCycle(lrs, { ...options, moms: options.moms ?? this.moms });
    if (startEpoch === 0) this.smoothLoss.reset(); // fastai Recorder.before_fit
    const totalBatches = epochs * numBatches;
    const rows: EpochRow[] = [];

    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const started = this.now();
      this.model.setTraining(true);
      this.model.reset();
      let batchIdx = 0;
      for (const batch of train.batches()) {
        if (batchIdx >= numBatches) break; // a source longer than it said would break the schedule
        const hypers = schedule((epoch * numBatches + batchIdx) / totalBatches);
        this.optimizer.setHyper('lr', hypers.lrs);
        this.optimizer.setHyper('mom', hypers.mom);
        const where = `stage ${this.stage} epoch ${epoch} batch ${batchIdx}`;
        const loss = this.stepper
          ? await this.stepThrough(this.stepper, batch, where)
          : this.trainBatch(batch, where);
        this.smoothLoss.add(loss);
        this.options.onBatchEnd?.({
          stage: this.stage,
          epoch,
          epochs,
          batch: batchIdx,
          numBatches,
          loss,
          smoothLoss: this.smoothLoss.value,
          lr: hypers.lrs[hypers.lrs.length - 1] as number,
          mom: hypers.mom,
        });
        batchIdx += 1;
      }
      const valid = this.options.valid ? this.validate() : null;
      const row: EpochRow = {
        stage: this.stage,
        epoch,
        epochs,
        trainLoss: this.smoothLoss.value,
        validLoss: valid?.loss ?? null,
        accuracy: valid?.accuracy ?? null,
        perplexity: valid?.perplexity ?? null,
        ...(valid?.f1Macro !== undefined ? { f1Macro: valid.f1Macro } : {}),
        seconds: (this.now() - started) / 1000,
      };
      rows.push(row);
      this.history.push(row);
      this.position = { stage: this.stage, epochsDone: epoch + 1, epochs };
      await this.options.onEpochEnd?.(row, this);
    }
    this.model.reset(); // fastai ModelResetter.after_fit
    this.position = { stage: this.stage, epochsDone: epochs, epochs };
    this.stage += 1;
    return rows;
  }

  /**
   * One optimizer step on one batch at the optimizer's current hypers (fitOneCycle sets them;
   * the LR finder sets its own): grads of the trainable groups, optional clipping, Adam.
   * Returns the reported loss. A NaN/Inf loss (or gradient norm, when clipping) throws an
   * E_TRAINING UlmfitError before the step, so the weights stay those after the last good batch.
   * @param where names the batch in that error message
   */
  trainBatch(batch: Batch, where = 'a training batch'): number {
    const { lossValue, reportedValue, grads } = lossAndGradients(
      this.model,
      batch,
      this.optimizer.trainableVariables(),
    );
    try {
      if (!Number.isFinite(lossValue)) throw this.diverged(`the loss is ${lossValue}`, where);
      if (this.options.clip !== undefined) {
        const norm = clipGradNorm(grads, this.options.clip);
        if (!Number.isFinite(norm)) throw this.diverged(`the gradient norm is ${norm}`, where);
      }
      this.optimizer.step(grads);
      return reportedValue;
    } finally {
      for (const grad of Object.values(grads)) grad?.dispose();
    }
  }

  /** A step taken by the stepper, with trainBatch's divergence checks. */
  private async stepThrough(stepper: TrainStepper<Batch>, batch: Batch, where: string): Promise<number> {
    const result = await stepper.step(batch);
    if (!Number.isFinite(result.loss)) throw this.diverged(`the loss is ${result.loss}`, where);
    if (result.gradNorm !== undefined && !Number.isFinite(result.gradNorm))
      throw this.diverged(`the gradient norm is ${result.gradNorm}`, where);
    return result.reported;
  }

  private diverged(what: string, where: string): UlmfitError {
    const lr = this.optimizer.hypers[this.optimizer.numGroups - 1]?.lr ?? Number.NaN;
    return new UlmfitError(
      'E_TRAINING',
      `training diverged: ${what} at ${where} (lr ${lr.toExponential(2)}); ` + 'the step was not applied',
      'lower the learning rate or clip gradients (--clip 0.1); the checkpoint of the last finished epoch is kept',
    );
  }

  /**
   * A validation pass with dropout off (fastai `validate`): loss as fastai's AvgLoss (each batch's
   * mean loss weighted by its rows), accuracy over every prediction, perplexity = exp(loss).
   */
  validate(source: BatchSource<Batch> | undefined = this.options.valid): ValidationResult {
    if (source === undefined) throw new Error('validate() needs a validation source');
    this.model.setTraining(false);
    this.model.reset(); // fastai ModelResetter.before_validate
    let weightedLoss = 0;
    let rows = 0;
    let correct = 0;
    let count = 0;
    const predictions: Int32Array[] = [];
    const targets: Int32Array[] = [];
    for (const batch of source.batches()) {
      let stats: EvalStats | undefined;
      tf.tidy(() => {
        stats = this.model.evalBatch(batch);
      });
      const s = stats as EvalStats;
      if (s.count > 0) {
        weightedLoss += (s.lossSum / s.count) * batch.bs;
        rows += batch.bs;
      }
      correct += s.correct;
      count += s.count;
      if (s.predictions !== undefined && s.targets !== undefined) {
        predictions.push(s.predictions);
        targets.push(s.targets);
      }
    }
    const loss = rows === 0 ? Number.NaN : weightedLoss / rows;
    const result: ValidationResult = {
      loss,
      accuracy: accuracy(correct, count),
      perplexity: perplexity(loss),
    };
    if (predictions.length > 0) {
      result.predictions = concatInt32(predictions);
      result.targets = concatInt32(targets);
      result.f1Macro = macroF1(result.predictions, result.targets);
    }
    return result;
  }

  /** The learner's checkpoint (call it from onEpochEnd, between steps). */
  getState(): LearnerState {
    const { meta, moments } = this.getLiveState();
    const tensors: LearnerState['tensors'] = {};
    for (const [key, moment] of moments)
      tensors[key] = { shape: [...moment.shape], data: ownedFloat32(moment) };
    return { meta, tensors };
  }

  /**
   * `getState` with the optimizer's moments as its own tensors, under the same keys, not copied:
   * a checkpoint at WT103 size writes them one at a time (tasks/run-dir.ts checkpointOf) instead
   * of holding a copy of them all. Read them before the next step.
   */
  getLiveState(): LiveLearnerState {
    const optimizer = this.optimizer.getLiveState();
    const moments = new Map<string, tf.Tensor>();
    for (const p of optimizer.params) {
      moments.set(`opt.${p.group}.${p.index}.grad_avg`, p.gradAvg);
      moments.set(`opt.${p.group}.${p.index}.sqr_avg`, p.sqrAvg);
    }
    return {
      meta: {
        format: 'ulmfit-learner-state',
        version: 1,
        position: { ...this.position },
        rng: this.options.rng.getState(),
        smoothLoss: this.smoothLoss.getState(),
        optimizer: {
          hypers: optimizer.hypers,
          frozenGroups: optimizer.frozenGroups,
          params: optimizer.params.map(({ group, index, name, shape, step }) => ({
            group,
            index,
            name,
            shape,
            step,
          })),
        },
        history: this.history.map((row) => ({ ...row })),
      },
      moments,
    };
  }

  /**
   * Restores a checkpoint (load the model weights separately). The next `fitRecipe` (or the
   * `fitOneCycle` of the saved stage) continues after the saved epoch.
   */
  setState(state: LearnerState): void {
    const { meta } = state;
    if (meta.format !== 'ulmfit-learner-state' || meta.version !== 1) {
      throw new UlmfitError(
        'E_CHECKPOINT',
        'the learner checkpoint has an unknown format',
        'start the run again without --resume',
      );
    }
    const moment = (key: string) => {
      const tensor = state.tensors[key];
      if (tensor === undefined) {
        throw new UlmfitError(
          'E_CHECKPOINT',
          `the learner checkpoint lacks tensor ${key}`,
          'start the run again without --resume',
        );
      }
      return tensor.data;
    };
    this.optimizer.setState({
      hypers: meta.optimizer.hypers,
      frozenGroups: meta.optimizer.frozenGroups,
      params: meta.optimizer.params.map((p) => ({
        ...p,
        gradAvg: moment(`opt.${p.group}.${p.index}.grad_avg`),
        sqrAvg: moment(`opt.${p.group}.${p.index}.sqr_avg`),
      })),
    });
    this.stepper?.optimizerChanged?.();
    this.options.rng.setState(meta.rng);
    this.smoothLoss.setState(meta.smoothLoss);
    this.history.splice(0, this.history.length, ...meta.history.map((row) => ({ ...row })));
    this.position = { ...meta.position };
    this.stage = meta.position.stage;
    this.resumeAt = { ...meta.position };
  }

  /** Where training stands (updated at every epoch end). */
  get trainingPosition(): TrainingPosition {
    return { ...this.position };
  }

  /** The training source (the LR finder reads it). */
  get trainSource(): BatchSource<Batch> {
    return this.options.train;
  }

  /** Frees the optimizer state (the model's weights belong to the model). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

/**
 * One forward and backward pass: the optimized loss (with AR/TAR) and the reported one (without)
 * as numbers, and the gradients of `variables`, which the caller disposes. Shared by the learner
 * and the data-parallel replicas, so both train on exactly the same quantity.
 */
export function lossAndGradients<Batch>(
  model: Pick<TrainableModel<Batch>, 'trainLoss'>,
  batch: Batch,
  variables: tf.Variable[],
): { lossValue: number; reportedValue: number; grads: tf.NamedTensorMap } {
  let reported: tf.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.trainLoss(batch);
    if (out instanceof tf.Tensor) return out;
    reported = tf.keep(out.reported);
    return out.loss;
  }, variables);
  try {
    const lossValue = value.dataSync()[0]!;
    const reportedValue = reported === null ? lossValue : (reported as tf.Scalar).dataSync()[0]!;
    return { lossValue, reportedValue, grads };
  } finally {
    value.dispose();
    (reported as tf.Scalar | null)?.dispose();
  }
}

/**
 * fastai `GradientClip` (torch `clip_grad_norm_`): scales every gradient by
 * min(1, maxNorm / (‖g‖₂ + 1e-6)), the norm taken over all gradients together. Replaces the
 * tensors in `grads` (disposing the old ones) and returns the norm before clipping.
 */
export function clipGradNorm(grads: Record<string, tf.Tensor | null>, maxNorm: number): number {
  const present = Object.entries(grads).filter((entry): entry is [string, tf.Tensor] => entry[1] !== null);
  if (present.length === 0) return 0;
  const normTensor = tf.tidy(() => tf.sqrt(tf.addN(present.map(([, g]) => tf.sum(tf.square(g))))));
  const norm = normTensor.dataSync()[0] as number;
  normTensor.dispose();
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) {
    for (const [name, grad] of present) {
      grads[name] = tf.tidy(() => grad.mul(coef));
      grad.dispose();
    }
  }
  return norm;
}

function concatInt32(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
