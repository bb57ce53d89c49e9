/**
 * Helpers shared by the models for creating, naming and loading their variables.
 */
import * as tf from '@tensorflow/tfjs';
import { UlmfitError } from '../errors.js';
import type { Rng } from '../random.js';

let modelCounter = 0;

/**
 * A prefix for TF.js variable names that is unique in this process: TF.js refuses two variables
 * with one name, and several models may live side by side (tests, fine-tuning).
 */
export function uniqueModelPrefix(kind: string): string {
  modelCounter += 1;
  return `ulmfit-${kind}${modelCounter}/`;
}

/**
 * A float32 tensor of `shape` drawn from U(-bound, bound) with `rng` (deterministic per seed,
 * independent of the TF.js backend).
 */
export function uniformTensor(shape: number[], bound: number, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * bound;
  return tf.tensor(values, shape, 'float32');
}

/** A float32 tensor of `shape` drawn from N(0, std²) with `rng` (deterministic per seed). */
export function normalTensor(shape: number[], std: number, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return tf.tensor(values, shape, 'float32');
}

/** A trainable variable that owns `initial` (which is disposed). */
export function ownedVariable<R extends tf.Rank>(
  initial: tf.Tensor<R>,
  name: string,
  trainable = true,
): tf.Variable<R> {
  const variable = tf.variable(initial, trainable, name);
  initial.dispose();
  return variable;
}

/** What one state-dict entry of a model expects. */
export interface WeightSlot {
  name: string;
  variable: tf.Variable;
  /** Aliases of a tied parameter: loaded only for a shape check. */
  alias?: boolean;
  /** May be absent from a checkpoint (e.g. BatchNorm's `num_batches_tracked`). */
  optional?: boolean;
}

/**
 * Copies `tensors` (fastai state-dict name -> tensor) into the variables of `slots`, checking
 * names and shapes first so that nothing is assigned unless everything fits.
 * @param ignorable names that may be present and are skipped (e.g. fastai v1's duplicate
 *   `module.weight_hh_l0`), with the shape they must have
 * @param what a phrase naming the model, for error messages
 */
export function loadIntoSlots(
  slots: WeightSlot[],
  tensors: Map<string, tf.Tensor>,
  ignorable: Map<string, number[]>,
  what: string,
): void {
  const byName = new Map(slots.map((slot) => [slot.name, slot]));
  const unknown = [...tensors.keys()].filter((name) => !byName.has(name) && !ignorable.has(name));
  if (unknown.length > 0) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `weights for ${what}: unexpected tensor name(s) ${list(unknown)}`,
      `expected fastai state-dict names such as ${list(slots.map((s) => s.name))}`,
    );
  }
  const missing = slots.filter((slot) => !slot.alias && !slot.optional && !tensors.has(slot.name));
  if (missing.length > 0) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `weights for ${what}: missing ${list(missing.map((s) => s.name))}`,
      'the checkpoint is not a model of this kind, or is incomplete',
    );
  }
  const expectedShape = (name: string): number[] => byName.get(name)?.variable.shape ?? ignorable.get(name)!;
  for (const [name, tensor] of tensors) {
    const expected = expectedShape(name);
    if (!sameShape(tensor.shape, expected)) {
      throw new UlmfitError(
        'E_MODEL_MISMATCH',
        `weights for ${what}: ${name} has shape [${tensor.shape}], the model expects [${expected}]`,
        'the checkpoint was trained with a different architecture (emb/hidden/layers) or vocabulary size',
      );
    }
  }
  for (const slot of slots) {
    const tensor = tensors.get(slot.name);
    if (slot.alias || tensor === undefined) continue;
    if (tensor.dtype === slot.variable.dtype) {
      slot.variable.assign(tensor);
    } else {
      const cast = tf.cast(tensor, slot.variable.dtype);
      slot.variable.assign(cast);
      cast.dispose();
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function list(names: string[]): string {
  const shown = names.slice(0, 6).join(', ');
  return names.length > 6 ? `${shown}, … (${names.length} in all)` : shown;
}
