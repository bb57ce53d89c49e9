/**
 * What `classify --model <run>` should use, chosen by train-classifier on documents none of the
 * compared models trained on: the networks averaged with the NB-SVM baseline (the default), or the
 * baseline alone when it was clearly better there.
 *
 * Why: on tasks decided by a few domain words, the networks can be far below NB-SVM (the
 * few-label benchmark's debian-sections: 12 to 18 points), and the average, which leans on the
 * baseline (BASELINE_ENSEMBLE_WEIGHT), still ends below the baseline alone. One network's
 * validation share is too small to tell (8 to 80 documents at 20 to 100 labels a class), but on
 * small data every network of the bag drew its own: pooled, they hold out about half of the
 * labeled documents, and each is scored with an NB-SVM trained on that network's training side.
 *
 * The test is McNemar's on the documents where exactly one side is right: the baseline alone is
 * chosen when it wins at least √(wins + losses) more of them than it loses (one standard deviation
 * of the difference under "equally good"). A looser rule (any margin) or a weight picked from a
 * grid lost more runs on the benchmark's other tasks than they gained (docs/few-labels-benchmark.md,
 * session 16, which also scores this rule on runs it was not chosen on).
 */
import { BASELINE_ENSEMBLE_WEIGHT } from '../config/inference.js';
import type { EnsembleChoiceFile } from '../io/ensemble-choice.js';
import { weightedAverage } from '../infer/classify.js';
import { argmaxRows } from '../metrics.js';

/** One set of held-out documents: both sides' class probabilities (`[docs × classes]`) and the gold class ids. */
export interface HeldOutPredictions {
  /** The networks scored on these documents (one network's own share, or all on a shared set), averaged. */
  networks: Float32Array;
  /** An NB-SVM trained without these documents. */
  baseline: Float32Array;
  gold: Int32Array;
}

export interface HeldOutTally {
  documents: number;
  /** Documents the baseline alone gets right where the default ensemble is wrong. */
  baselineRightEnsembleWrong: number;
  /** The reverse. */
  ensembleRightBaselineWrong: number;
}

/** Counts, over every set, where the default ensemble (networks + baseline × weight) and the baseline alone disagree in being right. */
export function tallyHeldOut(
  sets: readonly HeldOutPredictions[],
  classes: number,
  baselineWeight = BASELINE_ENSEMBLE_WEIGHT,
): HeldOutTally {
  const tally: HeldOutTally = { documents: 0, baselineRightEnsembleWrong: 0, ensembleRightBaselineWrong: 0 };
  for (const set of sets) {
    const ensemble = argmaxRows(
      weightedAverage([
        { probabilities: set.networks, weight: 1 },
        { probabilities: set.baseline, weight: baselineWeight },
      ]),
      classes,
    );
    const baseline = argmaxRows(set.baseline, classes);
    for (let i = 0; i < set.gold.length; i++) {
      const ensembleRight = ensemble[i] === set.gold[i];
      const baselineRight = baseline[i] === set.gold[i];
      if (baselineRight && !ensembleRight) tally.baselineRightEnsembleWrong += 1;
      if (ensembleRight && !baselineRight) tally.ensembleRightBaselineWrong += 1;
    }
    tally.documents += set.gold.length;
  }
  return tally;
}

/** The baseline alone if it won clearly more of the disagreements (see the module comment), else the default ensemble. */
export function chooseEnsemble(
  tally: HeldOutTally,
  baselineWeight = BASELINE_ENSEMBLE_WEIGHT,
): EnsembleChoiceFile {
  const wins = tally.baselineRightEnsembleWrong;
  const losses = tally.ensembleRightBaselineWrong;
  const baselineClearlyBetter = wins > losses && wins - losses >= Math.sqrt(wins + losses);
  return {
    use: baselineClearlyBetter ? 'baseline' : 'networks+baseline',
    baseline_weight: baselineWeight,
    held_out: {
      documents: tally.documents,
      baseline_right_ensemble_wrong: wins,
      ensemble_right_baseline_wrong: losses,
    },
  };
}

/** One line for train-classifier's stderr: what classify will use, and the comparison behind it. */
export function describeChoice(choice: EnsembleChoiceFile, runDir: string): string {
  const {
    documents,
    baseline_right_ensemble_wrong: wins,
    ensemble_right_baseline_wrong: losses,
  } = choice.held_out;
  const evidence = `on ${documents} held-out documents the baseline alone was right on ${wins} where the networks + baseline ×${choice.baseline_weight} were wrong, and wrong on ${losses} where they were right`;
  return choice.use === 'baseline'
    ? `ensemble: classify --model ${runDir} uses the NB-SVM baseline alone: ${evidence} (clearly better); the networks stay in model-best/ and networks/`
    : `ensemble: the average stays: ${evidence} (not clearly better)`;
}
