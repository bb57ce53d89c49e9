import type * as tf from '@tensorflow/tfjs';

/**
 * The contract between a model and the learner. The learner knows nothing else about the model
 * (minGPT's rule): it asks for parameter groups, a training loss to differentiate, and evaluation
 * statistics. Batches are whatever the model's data loader yields. It lives in model/ (the layer
 * below train/), so models implement it without importing train/.
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
   * dropout on. Called inside tf.variableGrads (so inside a tidy: tensors kept across batches,
   * such as a recurrent state, need tf.keep); must not dispose its inputs.
   * May also return the loss to report without the regularizers (see TrainLoss).
   */
  trainLoss(batch: Batch): tf.Scalar | TrainLoss;
  /**
   * Evaluation statistics for one batch with dropout off. Returns plain numbers (the caller
   * accumulates them): summed loss over items, number of correct predictions, number of items.
   * Called inside tf.tidy, like trainLoss.
   */
  evalBatch(batch: Batch): EvalStats;
  /** Resets recurrent state (start of every training and validation pass). */
  reset(): void;
  /** Switches train/eval behaviour (dropout, BatchNorm statistics). */
  setTraining(training: boolean): void;
}

/**
 * A training loss split in two. fastai differentiates CE + AR + TAR but records (and smooths into
 * the `train_loss` column) the plain CE, because RNNRegularizer adds AR/TAR to `loss_grad` after
 * `loss` was cloned (fastai/callback/rnn.py). A model with regularizers returns both so the learner can
 * do the same; `reported` is computed from the same forward pass, so it costs nothing extra.
 */
export interface TrainLoss {
  /** What the optimizer minimizes (CE + AR + TAR). */
  loss: tf.Scalar;
  /** What the table shows as train loss (CE only). */
  reported: tf.Scalar;
}

export interface EvalStats {
  lossSum: number;
  correct: number;
  count: number;
  /** For classifiers: predicted and gold class per item, for F1 and confusion matrices. */
  predictions?: Int32Array;
  targets?: Int32Array;
}
