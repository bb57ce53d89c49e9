import type * as tf from '@tensorflow/tfjs';

/**
 * The contract between a model and the learner. The learner knows nothing else about the model
 * (minGPT's rule): it asks for parameter groups, a training loss to differentiate, and evaluation
 * statistics. Batches are whatever the model's data loader yields.
 */
export interface ParamGroup {
  /** Trainable variables of this group, in a stable order. */
  variables: tf.Variable[];
}

export interface TrainableModel<Batch> {
  /**
   * Parameter groups, lowest layer first (fastai splitter order). `freeze_to(n)` freezes all but
   * the last groups; discriminative learning rates are assigned by group index.
   */
  paramGroups(): ParamGroup[];
  /** Names of variables that get no weight decay (fastai: norm layers and biases of heads). */
  noWeightDecay(): Set<string>;
  /**
   * The loss to minimize for one training batch, including regularizers (AR/TAR), computed with
   * dropout on. Called inside tf.variableGrads; must not dispose its inputs.
   */
  trainLoss(batch: Batch): tf.Scalar;
  /**
   * Evaluation statistics for one batch with dropout off. Returns plain numbers (the caller
   * accumulates them): summed loss over items, number of correct predictions, number of items.
   */
  evalBatch(batch: Batch): EvalStats;
  /** Resets recurrent state (start of every training and validation pass). */
  reset(): void;
  /** Switches train/eval behaviour (dropout, BatchNorm statistics). */
  setTraining(training: boolean): void;
}

export interface EvalStats {
  lossSum: number;
  correct: number;
  count: number;
  /** For classifiers: predicted and gold class per item, for F1 and confusion matrices. */
  predictions?: Int32Array;
  targets?: Int32Array;
}
