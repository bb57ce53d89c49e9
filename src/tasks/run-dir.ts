/**
 * What every training task does with its run directory besides writing models: the resumable
 * checkpoint (weights + learner state + best loss), the persisted settings a `--resume` restores,
 * and the recipe check. The language-model and classifier tasks share it.
 */
import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { readCheckpointDir, RUN_LAYOUT } from '../io/artifact.js';
import { checkShape, count, finite, readJsonFile, z } from '../io/validate.js';
import type { TensorEntry, TensorMap, TensorSource } from '../io/tensors.js';
import { tensorReader, withTfWeights } from '../model/persist.js';
import type { EpochRow, Learner, LearnerState, LiveLearnerState, Stage } from '../train/learner.js';
import { FLAG_RANGES, longFlag, optionKey, POOL_SOURCES } from '../config/schema.js';
import { TRAINING_COMMANDS } from '../config/training.js';

export {
  epochRecord,
  readEpochRecords,
  EPOCH_RECORD_SCHEMA,
  type EpochRecord,
  type RunKind,
} from './epoch-record.js';

/** The best epoch so far: its validation loss and (classifiers) accuracy. */
export interface BestScore {
  loss: number;
  accuracy: number | null;
}

/** What ranks an epoch: its losses and accuracy. */
export type ScoredRow = Pick<EpochRow, 'trainLoss' | 'validLoss' | 'accuracy'>;

/**
 * Whether `row` beats `best`. By 'loss': a lower validation loss (training loss without a
 * validation set). By 'accuracy': a higher validation accuracy, the lower loss breaking ties (a
 * row without accuracy falls back to the loss).
 */
export function betterRow(row: ScoredRow, best: BestScore, by: 'loss' | 'accuracy'): boolean {
  const loss = row.validLoss ?? row.trainLoss;
  if (by === 'accuracy' && row.accuracy !== null && Number.isFinite(row.accuracy)) {
    if (best.accuracy === null || row.accuracy > best.accuracy) return true;
    if (row.accuracy < best.accuracy) return false;
  }
  return loss < best.loss;
}

/** The row model-best/ holds: the first that no later row beats (`betterRow`). */
export function bestRow<Row extends ScoredRow>(
  rows: readonly Row[],
  by: 'loss' | 'accuracy',
): Row | undefined {
  let best: Row | undefined;
  let score: BestScore = { loss: Infinity, accuracy: null };
  for (const row of rows) {
    if (betterRow(row, score, by)) {
      best = row;
      score = { loss: row.validLoss ?? row.trainLoss, accuracy: by === 'loss' ? null : row.accuracy };
    }
  }
  return best;
}

/** What a checkpoint's JSON part holds besides its tensors. */
interface CheckpointState {
  learner: LearnerState['meta'];
  /** The best epoch's validation loss; null before the first finite one (JSON has no Infinity). */
  bestLoss: number | null;
  /** The best epoch's validation accuracy (classifiers); absent in older checkpoints. */
  bestAccuracy?: number | null;
}

/** A learning rate: a number, one per group, or a discriminative slice. */
const LR_SCHEMA = z.union([
  finite.min(0),
  z.array(finite.min(0)).min(1),
  z.object({ lo: finite.min(0).optional(), hi: finite.min(0) }),
]);

const STAGE_SCHEMA = z.looseObject({
  freezeTo: z.number().int().optional(),
  epochs: count.min(1),
  lr: LR_SCHEMA,
});

/** checkpoint/state.json (the learner's meta is train/learner.ts's LearnerStateMeta). */
const CHECKPOINT_STATE_SCHEMA = z.looseObject({
  learner: z.looseObject({
    format: z.literal('ulmfit-learner-state'),
    version: z.literal(1),
    position: z.object({ stage: count, epochsDone: count, epochs: count }),
    rng: z.tuple([count, count, count, count]),
    smoothLoss: z.object({ average: finite, count: count }),
    optimizer: z.looseObject({
      hypers: z.array(z.object({ lr: finite, mom: finite, sqrMom: finite, eps: finite, wd: finite })),
      frozenGroups: count,
      params: z.array(
        z.object({ group: count, index: count, name: z.string(), shape: z.array(count), step: count }),
      ),
    }),
    history: z.array(
      z.looseObject({ stage: count, epoch: count, epochs: count, trainLoss: z.number().nullable() }),
    ),
  }),
  bestLoss: finite.nullable(),
  bestAccuracy: finite.nullable().optional(),
});

/**
 * config.json: every setting either training task stores (each task stores a subset). A field
 * present must have its type and range; the task's own checks (recipe, sizes) run after.
 */
const RUN_CONFIG_SCHEMA = z.looseObject({
  inputs: z.array(z.string()).min(1),
  pretrained: z.string().optional(),
  lm: z.string().optional(),
  fromScratch: z.boolean().optional(),
  valid: z.array(z.string()).optional(),
  validPct: z.number().min(0).lt(1).optional(),
  emb: count.min(1).optional(),
  hidden: count.min(1).optional(),
  layers: count.min(1).optional(),
  dropMult: finite.min(0).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  embInit: z.string().optional(),
  bs: count.min(1).optional(),
  bptt: count.min(1).optional(),
  maxLen: count.min(1).optional(),
  stages: z.array(STAGE_SCHEMA).min(1).optional(),
  epochs: count.min(1).optional(),
  lr: LR_SCHEMA.optional(),
  wd: finite.min(0).optional(),
  clip: finite.positive().optional(),
  alpha: finite.min(0).optional(),
  beta: finite.min(0).optional(),
  labelSmoothing: finite.min(0).lt(1).optional(),
  l2sp: finite.min(0).optional(),
  pool: z.enum(POOL_SOURCES).optional(),
  seed: count.optional(),
  backwards: z.boolean().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  minFreq: count.min(1).optional(),
  maxVocab: count.min(1).optional(),
  textCol: z.string().optional(),
  labelCol: z.string().optional(),
  ignoreLabels: z.array(z.string()).optional(),
  lineDocs: z.boolean().optional(),
  saveEncoder: z.boolean().optional(),
  baseline: z.boolean().optional(),
  networks: count.min(FLAG_RANGES.networks!.min).max(FLAG_RANGES.networks!.max).optional(),
  trainWorkers: count.min(1).optional(),
});

const RESUME_FIX = 'start the run again with --overwrite (the checkpoint cannot be used)';

/**
 * The checkpoint of a run: model weights under `model.`, learner tensors under `learner.`. The
 * optimizer's moments are read when written, one at a time, as `weights` may be (model/persist.ts
 * weightReaders): write it before the next training step.
 */
export function checkpointOf(
  weights: TensorSource,
  state: LiveLearnerState,
  best: BestScore,
): { tensors: TensorSource; state: CheckpointState } {
  const tensors = new Map<string, TensorEntry>();
  for (const [name, tensor] of weights) tensors.set(`model.${name}`, tensor);
  for (const [name, moment] of state.moments) tensors.set(`learner.${name}`, tensorReader(moment));
  const bestLoss = Number.isFinite(best.loss) ? best.loss : null;
  return { tensors, state: { learner: state.meta, bestLoss, bestAccuracy: best.accuracy } };
}

/**
 * Loads a run's checkpoint into the model and learner (`--resume`), and returns where the run
 * stopped and its best epoch's score so far.
 */
export function resumeFrom<Batch extends { bs: number }>(
  runDir: string,
  learner: Learner<Batch>,
  model: { loadWeights(tensors: Map<string, tf.Tensor>): void },
): { best: BestScore; position: LearnerState['meta']['position'] } {
  const dir = join(runDir, RUN_LAYOUT.checkpoint);
  const checkpoint = readCheckpointDir(dir);
  const state = checkShape(CHECKPOINT_STATE_SCHEMA, checkpoint.state, join(dir, 'state.json'), {
    code: 'E_CHECKPOINT',
    hint: RESUME_FIX,
  }) as unknown as CheckpointState;
  const weights: TensorMap = new Map();
  const learnerTensors: LearnerState['tensors'] = {};
  for (const [name, tensor] of checkpoint.tensors) {
    if (name.startsWith('model.')) weights.set(name.slice('model.'.length), tensor);
    else if (name.startsWith('learner.') && tensor.dtype === 'float32')
      learnerTensors[name.slice('learner.'.length)] = { shape: tensor.shape, data: tensor.data };
  }
  withTfWeights(weights, (tensors) => model.loadWeights(tensors));
  learner.setState({ meta: state.learner, tensors: learnerTensors });
  return {
    best: { loss: state.bestLoss ?? Infinity, accuracy: state.bestAccuracy ?? null },
    position: state.learner.position,
  };
}

/** The settings of a run that `--resume` must reuse (written to config.json). */
export function persistedConfig<Options extends object>(
  options: Options,
  keys: readonly (keyof Options)[],
): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) config[key as string] = options[key];
  return config;
}

/** The flag a persisted option comes from, for messages (`dropMult` → `--drop-mult`, `stages` → `--schedule`). */
function flagOf(key: string): string {
  if (key === 'inputs') return 'the inputs';
  const spec = TRAINING_COMMANDS.flatMap((command) => command.options).find(
    (option) => optionKey(option) === key,
  );
  return spec ? longFlag(spec.flag) : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Structural equality of JSON-like values (what config.json stores). */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'unset';
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/**
 * `--resume`: the run continues with the settings it started with (its config.json). A setting
 * given now that differs from the stored one is refused (E_USAGE, listing every difference):
 * silently running the stored recipe would hide that the flag did nothing. `explicit` names the
 * options the user gave (the CLI passes the flags not left at their defaults); without it, every
 * defined option in `given` counts.
 */
export function restoreConfig<Options extends { out: string }>(
  given: Options,
  keys: readonly (keyof Options)[],
  explicit?: ReadonlySet<string>,
): Options {
  const path = join(given.out, RUN_LAYOUT.config);
  const saved = readJsonFile(path, RUN_CONFIG_SCHEMA, {
    code: 'E_CHECKPOINT',
    hint: RESUME_FIX,
  }) as Partial<Options>;
  const conflicts: string[] = [];
  for (const key of keys) {
    const name = key as string;
    const value = given[key];
    const isGiven = explicit ? explicit.has(name) : value !== undefined;
    if (isGiven && value !== undefined && !sameValue(value, saved[key])) {
      conflicts.push(`${flagOf(name)} ${shown(value)} (the run has ${shown(saved[key])})`);
    }
  }
  if (conflicts.length > 0) {
    throw usageError(
      `--resume continues ${given.out} with its stored settings, but these flags differ: ${conflicts.join('; ')}`,
      'drop those flags to resume, or start a new run (another --out, or --overwrite)',
    );
  }
  const restored: Options = { ...given };
  for (const key of keys) restored[key] = saved[key] as Options[typeof key];
  return restored;
}

/** A recipe needs at least one stage, each of a whole number of epochs. */
export function validateStages(stages: readonly Stage[]): void {
  if (stages.length === 0) throw usageError('the training recipe has no stages');
  for (const stage of stages) {
    if (!Number.isInteger(stage.epochs) || stage.epochs < 1)
      throw usageError(`epochs must be a whole number ≥ 1, got ${stage.epochs}`);
  }
}
