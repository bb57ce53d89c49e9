/**
 * Recipes that fit the data. fastai's defaults assume thousands of documents: at bs 64 its
 * classifier recipe (1+1+1+2 epochs, drop_last) makes 5 optimizer steps on 80 training documents
 * and drops 16 of them every epoch, which ends at chance. These planners keep fastai's recipe
 * exactly where it already makes enough steps (IMDb scale) and otherwise choose a batch size that
 * gives several batches per epoch and enough epochs for every gradual-unfreezing stage to make
 * `MIN_STEPS_PER_STAGE` steps, with no document dropped. Explicit settings always win: a given
 * batch size is kept, and a given recipe (or epoch count) is not stretched.
 */
import { FLAG_RANGES, rangeText } from '../config/schema.js';
import { CLASSIFIER_DEFAULTS, LM_DEFAULTS } from '../config/training.js';
import { usageError } from '../errors.js';
import type { Stage } from '../train/learner.js';

/** Optimizer steps a gradual-unfreezing stage needs before the next group is unfrozen. */
export const MIN_STEPS_PER_STAGE = 30;
/** Batches per epoch the classifier's batch size aims at on small data. */
const TARGET_BATCHES_PER_EPOCH = 8;
/** fastai's classifier batch size; also the largest the planner picks. */
export const FASTAI_CLASSIFIER_BS = CLASSIFIER_DEFAULTS.bs;
const MIN_PLANNED_BS = 8;

/**
 * fastai's gradual unfreezing (fastbook ch. 10): the head for 1 epoch at `lr` (2e-2); then the
 * last LSTM too at lr/2 (discriminative, /2.6 per group); then the last two at lr/4; then
 * everything for `epochs` (2) at lr/20. From scratch there is nothing to protect, so every group
 * trains from the start, for the same number of epochs in all (one one-cycle fit at `lr`/2).
 * `epochsPerStage` stretches the first three stages to that many epochs each (and the last to
 * `epochs` × that many).
 */
export function defaultClassifierStages(
  options: {
    lr?: number | undefined;
    epochs?: number | undefined;
    fromScratch?: boolean | undefined;
    epochsPerStage?: number | undefined;
  } = {},
): Stage[] {
  const lr = options.lr ?? CLASSIFIER_DEFAULTS.lr;
  const k = options.epochsPerStage ?? 1;
  const last = (options.epochs ?? CLASSIFIER_DEFAULTS.epochs) * k;
  const discriminative = (hi: number) => ({ lo: hi / 2.6 ** 4, hi });
  if (options.fromScratch) return [{ freezeTo: 0, epochs: 3 * k + last, lr: lr / 2 }];
  return [
    { freezeTo: -1, epochs: k, lr },
    { freezeTo: -2, epochs: k, lr: discriminative(lr / 2) },
    { freezeTo: -3, epochs: k, lr: discriminative(lr / 4) },
    { freezeTo: 0, epochs: last, lr: discriminative(lr / 20) },
  ];
}

export interface ClassifierPlanInput {
  /** Training documents (after the validation split). */
  trainDocs: number;
  /** Given by the user; undefined = planned. */
  bs?: number | undefined;
  /** A whole recipe given by the user (--schedule): used as it is. */
  stages?: readonly Stage[] | undefined;
  /** --lr / --epochs of the default recipe; a given epoch count is not stretched. */
  lr?: number | undefined;
  epochs?: number | undefined;
  fromScratch?: boolean | undefined;
}

export interface ClassifierPlan {
  bs: number;
  stages: Stage[];
  /** Drop the last incomplete training batch (fastai does; only kept on fastai's own recipe). */
  dropLast: boolean;
  /** Whether anything differs from fastai's recipe. */
  adapted: boolean;
  /** One line for stderr: what was chosen and why. */
  reason: string;
}

/**
 * The classifier's batch size and recipe for `trainDocs` training documents.
 *
 * fastai's recipe (bs 64, one epoch per stage, drop_last) is kept when its stages already make
 * `MIN_STEPS_PER_STAGE` steps (about 1,900 documents and up). Below that, bs aims at 8 batches
 * an epoch (between 8 and 64, avoiding a last batch of one document, which batch norm cannot
 * normalize), every stage gets enough epochs for its steps, and every document is seen every
 * epoch (no drop_last).
 */
export function planClassifierRecipe(input: ClassifierPlanInput): ClassifierPlan {
  const n = Math.max(1, input.trainDocs);
  const bsGiven = input.bs !== undefined;
  let bs = input.bs ?? FASTAI_CLASSIFIER_BS;
  if (bs > n) bs = n;
  const fastaiSteps = Math.floor(n / bs);
  const enoughSteps = fastaiSteps >= MIN_STEPS_PER_STAGE;
  if (input.stages !== undefined) {
    const dropLast = enoughSteps;
    return {
      bs,
      stages: [...input.stages],
      dropLast,
      adapted: !dropLast,
      reason: `recipe as given (--schedule), bs ${bs}${dropLast ? '' : ', every document every epoch'}`,
    };
  }
  if (enoughSteps) {
    const stages = defaultClassifierStages({
      lr: input.lr,
      epochs: input.epochs,
      fromScratch: input.fromScratch,
    });
    return {
      bs,
      stages,
      dropLast: true,
      adapted: false,
      reason: `fastai's recipe: bs ${bs}, ${fastaiSteps} steps an epoch`,
    };
  }
  if (!bsGiven) bs = plannedBs(n);
  const batches = Math.ceil(n / bs);
  const epochsPerStage =
    input.epochs !== undefined ? 1 : Math.max(1, Math.ceil(MIN_STEPS_PER_STAGE / batches));
  const stages = defaultClassifierStages({
    lr: input.lr,
    epochs: input.epochs,
    fromScratch: input.fromScratch,
    epochsPerStage,
  });
  const total = stages.reduce((sum, s) => sum + s.epochs, 0);
  const reason =
    `${n} training documents: bs ${bs}${bsGiven ? ' (given)' : ''} (${batches} batches an epoch, none dropped), ` +
    `${stages.map((s) => s.epochs).join('+')} epochs (${total * batches} steps; fastai's bs 64 recipe would make ${Math.max(0, fastaiSteps) * 5})`;
  return { bs, stages, dropLast: false, adapted: true, reason };
}

/** About TARGET_BATCHES_PER_EPOCH batches, bs in [8, 64], and never a last batch of one row. */
function plannedBs(n: number): number {
  let bs = Math.min(FASTAI_CLASSIFIER_BS, Math.max(MIN_PLANNED_BS, Math.round(n / TARGET_BATCHES_PER_EPOCH)));
  if (bs >= n) return n;
  while (n % bs === 1 && bs < n) bs++;
  return bs;
}

export interface LmPlanInput {
  /** Training tokens. */
  tokens: number;
  bptt: number;
  /** Given by the user; undefined = planned. */
  bs?: number | undefined;
  /** The default recipe (fastai's), and whether the user shaped it (--schedule, --epochs). */
  stages: readonly Stage[];
  stagesGiven: boolean;
}

export interface LmPlan {
  bs: number;
  stages: Stage[];
  adapted: boolean;
  reason: string;
}

/** fastai's language-model batch size. */
export const FASTAI_LM_BS = LM_DEFAULTS.bs;
/** Optimizer steps the fine-tuning recipe's main (last) stage should make on a small corpus. */
export const MIN_LM_MAIN_STEPS = 300;
const MIN_LM_BATCHES_PER_EPOCH = 20;
/** A small corpus gets at most this many epochs in the main stage (beyond that it memorizes). */
const MAX_LM_MAIN_EPOCHS = 30;

/**
 * The language model's batch size and recipe for `tokens` training tokens. fastai's (bs 64, the
 * given stages) is kept when an epoch has at least 20 batches and the main stage makes 300 steps;
 * a smaller corpus gets a smaller bs (down to 8, so an epoch still has several batches) and more
 * epochs in the main stage (up to 30), never in a stage the user gave.
 */
export function planLmRecipe(input: LmPlanInput): LmPlan {
  const perBs = (bs: number) => Math.floor(input.tokens / (bs * input.bptt));
  let bs = input.bs ?? FASTAI_LM_BS;
  if (input.bs === undefined) {
    while (bs > 8 && perBs(bs) < MIN_LM_BATCHES_PER_EPOCH) bs /= 2;
  }
  const batches = Math.max(1, perBs(bs));
  const stages = input.stages.map((s) => ({ ...s }));
  const main = stages[stages.length - 1]!;
  let stretched = false;
  if (!input.stagesGiven && main.epochs * batches < MIN_LM_MAIN_STEPS) {
    const epochs = Math.min(MAX_LM_MAIN_EPOCHS, Math.ceil(MIN_LM_MAIN_STEPS / batches));
    if (epochs > main.epochs) {
      main.epochs = epochs;
      stretched = true;
    }
  }
  const adapted = stretched || bs !== (input.bs ?? FASTAI_LM_BS);
  const epochs = stages.map((s) => s.epochs).join('+');
  const reason = adapted
    ? `${input.tokens} training tokens: bs ${bs} (${batches} batches an epoch), ${epochs} epochs (fastai's bs 64 recipe: ${perBs(FASTAI_LM_BS)} batches an epoch)`
    : `fastai's recipe: bs ${bs}, ${batches} batches an epoch, ${epochs} epochs`;
  return { bs, stages, adapted, reason };
}

/** Networks a classifier run trains on small data (the bag that `classify --model <run>` averages). */
export const SMALL_DATA_NETWORKS = 3;
/** What separates member k's seed from the run's: seed + k × SEED_STRIDE (k = 1, 2, …). */
export const NETWORK_SEED_STRIDE = 1000;

export interface NetworksPlan {
  networks: number;
  /** One line for stderr: how many and why (undefined when the user gave the number). */
  reason: string | undefined;
}

/**
 * How many classifier networks a run trains. On small data (where fastai's bs-64 recipe would make
 * fewer than MIN_STEPS_PER_STAGE steps an epoch) one network's accuracy swings with its seed and
 * its validation share, and a network costs seconds to minutes, so the run trains
 * SMALL_DATA_NETWORKS, each with its own seed (and so its own random validation share,
 * initialization and batch order), and `classify` averages them: the few-label benchmark measured
 * that bag of three above one network in every task and label count (docs/few-labels-benchmark.md,
 * session 13). At fastai's scale one network, as fastai trains. A given number is kept.
 */
export function planClassifierNetworks(input: {
  trainDocs: number;
  networks?: number | undefined;
}): NetworksPlan {
  if (input.networks !== undefined) {
    const range = FLAG_RANGES.networks!;
    if (!Number.isInteger(input.networks) || input.networks < range.min || input.networks > range.max)
      throw usageError(`networks must be ${rangeText(range)}, got ${input.networks}`);
    return { networks: input.networks, reason: undefined };
  }
  const small = Math.floor(input.trainDocs / FASTAI_CLASSIFIER_BS) < MIN_STEPS_PER_STAGE;
  if (!small) return { networks: 1, reason: undefined };
  return {
    networks: SMALL_DATA_NETWORKS,
    reason:
      `${SMALL_DATA_NETWORKS} (small data: each network has its own seed and validation share, and ` +
      `classify averages them; ${SMALL_DATA_NETWORKS}× the training time, --networks 1 trains one)`,
  };
}

/** The seed of network `k` (0 = the run's own network) of a run seeded with `seed`. */
export function networkSeed(seed: number, k: number): number {
  return seed + k * NETWORK_SEED_STRIDE;
}
