/**
 * What every training task does with its run directory besides writing models: the resumable
 * checkpoint (weights + learner state + best loss), the persisted settings a `--resume` restores,
 * and the recipe check. The language-model and classifier tasks share it.
 */
import type * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UlmfitError, usageError } from '../errors.js';
import { readCheckpointDir, RUN_LAYOUT } from '../io/artifact.js';
import { float32Tensor, type TensorMap } from '../io/tensors.js';
import { withTfWeights } from '../model/persist.js';
import type { EpochRow, Learner, LearnerState, Stage } from '../train/learner.js';

/** The best epoch so far: its validation loss and (classifiers) accuracy. */
export interface BestScore {
  loss: number;
  accuracy: number | null;
}

/**
 * Whether `row` beats `best`. By 'loss': a lower validation loss (training loss without a
 * validation set). By 'accuracy': a higher validation accuracy, the lower loss breaking ties (a
 * row without accuracy falls back to the loss).
 */
export function betterRow(row: EpochRow, best: BestScore, by: 'loss' | 'accuracy'): boolean {
  const loss = row.validLoss ?? row.trainLoss;
  if (by === 'accuracy' && row.accuracy !== null && Number.isFinite(row.accuracy)) {
    if (best.accuracy === null || row.accuracy > best.accuracy) return true;
    if (row.accuracy < best.accuracy) return false;
  }
  return loss < best.loss;
}

/** What a checkpoint's JSON part holds besides its tensors. */
interface CheckpointState {
  learner: LearnerState['meta'];
  /** The best epoch's validation loss; null before the first finite one (JSON has no Infinity). */
  bestLoss: number | null;
  /** The best epoch's validation accuracy (classifiers); absent in older checkpoints. */
  bestAccuracy?: number | null;
}

/** The checkpoint of a run: model weights under `model.`, learner tensors under `learner.`. */
export function checkpointOf(weights: TensorMap, state: LearnerState, best: BestScore): { tensors: TensorMap; state: CheckpointState } {
  const tensors: TensorMap = new Map();
  for (const [name, tensor] of weights) tensors.set(`model.${name}`, tensor);
  for (const [name, t] of Object.entries(state.tensors)) tensors.set(`learner.${name}`, float32Tensor(t.shape, t.data));
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
  const checkpoint = readCheckpointDir(join(runDir, RUN_LAYOUT.checkpoint));
  const state = checkpoint.state as CheckpointState;
  const weights: TensorMap = new Map();
  const learnerTensors: LearnerState['tensors'] = {};
  for (const [name, tensor] of checkpoint.tensors) {
    if (name.startsWith('model.')) weights.set(name.slice('model.'.length), tensor);
    else if (name.startsWith('learner.') && tensor.dtype === 'float32') learnerTensors[name.slice('learner.'.length)] = { shape: tensor.shape, data: tensor.data };
  }
  withTfWeights(weights, (tensors) => model.loadWeights(tensors));
  learner.setState({ meta: state.learner, tensors: learnerTensors });
  return { best: { loss: state.bestLoss ?? Infinity, accuracy: state.bestAccuracy ?? null }, position: state.learner.position };
}

/** The settings of a run that `--resume` must reuse (written to config.json). */
export function persistedConfig<Options extends object>(options: Options, keys: readonly (keyof Options)[]): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) config[key as string] = options[key];
  return config;
}

/** `--resume`: the run continues with the settings it started with (its config.json). */
export function restoreConfig<Options extends { out: string }>(given: Options, keys: readonly (keyof Options)[]): Options {
  const path = join(given.out, RUN_LAYOUT.config);
  if (!existsSync(path)) throw new UlmfitError('E_CHECKPOINT', `cannot resume: ${path} is missing`, 'start a new run without --resume');
  const saved = JSON.parse(readFileSync(path, 'utf8')) as Partial<Options>;
  const restored: Options = { ...given };
  for (const key of keys) restored[key] = saved[key] as Options[typeof key];
  return restored;
}

/** A recipe needs at least one stage, each of a whole number of epochs. */
export function validateStages(stages: readonly Stage[]): void {
  if (stages.length === 0) throw usageError('the training recipe has no stages');
  for (const stage of stages) {
    if (!Number.isInteger(stage.epochs) || stage.epochs < 1) throw usageError(`epochs must be a whole number ≥ 1, got ${stage.epochs}`);
  }
}
