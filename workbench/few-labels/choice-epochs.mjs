#!/usr/bin/env node
// Does train-classifier's ensemble choice (src/tasks/ensemble-choice.ts) flatter the networks
// because each network's model-best/ is scored on the very documents that picked its epoch? For
// every saved run of the bag (`ulmfit-<lm>+bag`) this rebuilds each network's validation share (the
// same split and seed as train-classifier, saved-runs.mjs), and tallies the shipped rule twice:
// with the networks' model-best/ (what train-classifier does) and with their model-last/ (the last
// epoch, which no document of the share chose). Each choice is then scored on the test set: the
// bag's averaged networks with the all-labels NB-SVM ×3, or that NB-SVM alone. The test tally
// (NB-SVM right where the average is wrong, and the reverse) is printed beside the held-out ones.
// (best-epoch.mjs scores model-last/ itself on the test set.) Caches in each network's
// `choice-best/` and `choice-last/`.
//
//   node workbench/few-labels/choice-epochs.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]
import { join } from 'node:path';
import { BASELINE_ENSEMBLE_WEIGHT as WEIGHT } from '../../dist/config/inference.js';
import {
  ScoreTable,
  accuracy,
  average,
  commandLine,
  heldOutChoice,
  networksOf,
  readPredictions,
  runFilter,
  savedRuns,
  validationPredictions,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/choice-epochs.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const filter = runFilter(flag);
const counts = ({ tally }) => `${tally.baselineRightEnsembleWrong}/${tally.ensembleRightBaselineWrong}`;

const table = new ScoreTable();
const notes = new Map(); // "task k" -> per-run "held-out best | held-out last | test" tallies
for (const run of savedRuns(work, `ulmfit-${lm}+bag`, filter)) {
  const bag = readPredictions(join(run.runDir, 'test-predictions.jsonl'));
  const nbTest = readPredictions(join(run.nbsvmDir, 'test-predictions.jsonl'));
  if (!bag || !nbTest) continue;
  const networks = networksOf(work, lm, run);
  const pairsOf = (model, cache) =>
    networks.map(({ dir, seed }) =>
      validationPredictions(run.trainCsv, join(dir, model), seed, join(dir, cache)),
    );
  const best = heldOutChoice(pairsOf('model-best', 'choice-best'), WEIGHT);
  const last = heldOutChoice(pairsOf('model-last', 'choice-last'), WEIGHT);
  const averaged = average([bag, nbTest], [1, WEIGHT]);
  const outcome = (use) => (use === 'baseline' ? nbTest : averaged);
  // the same count on the test set: the shipped tally, with the bag's test predictions as the networks'
  const onTest = heldOutChoice([{ net: bag, nb: nbTest }], WEIGHT);
  table.add(run.task, run.k, 'choice on model-best (shipped)', accuracy(outcome(best.choice.use)));
  table.add(run.task, run.k, 'choice on model-last', accuracy(outcome(last.choice.use)));
  table.add(run.task, run.k, 'choice on model-last, z ≥ 2', accuracy(outcome(last.strict)));
  table.add(run.task, run.k, 'average ×3 always', accuracy(averaged));
  table.add(run.task, run.k, 'NB-SVM', accuracy(nbTest));
  table.add(run.task, run.k, 'networks alone', accuracy(bag));
  const key = `${run.task} ${run.k}`;
  if (!notes.has(key)) notes.set(key, []);
  const mark = (c) => (c.choice.use === 'baseline' ? '*' : '');
  notes.get(key).push(`${counts(best)}${mark(best)} · ${counts(last)}${mark(last)} · ${counts(onTest)}`);
  process.stderr.write(
    `${key} s${run.seed}: best ${counts(best)} → ${best.choice.use}, last ${counts(last)} → ${last.choice.use}, test ${counts(onTest)}\n`,
  );
}
table.print('choice on model-best (shipped)', {
  header:
    'NB-SVM right alone / average right alone: held out (model-best · model-last) · test; * = NB-SVM chosen',
  cell: (key) => notes.get(key).join(', '),
});
