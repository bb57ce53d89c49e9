#!/usr/bin/env node
// Can a run choose NB-SVM's weight in the ensemble from its own held-out documents? A bag's
// networks each drew their own validation fifth, so pooled they score about half of the labeled
// documents held out, 3 × 16 to 3 × 80 predictions at 20 to 100 labels a class (session 11's
// per-run calibration had one fifth, 8 to 80, and failed on noise). For every saved run of the
// bag (`ulmfit-<lm>+bag`) this rebuilds each network's validation share (the same `splitValid`
// and seed as train-classifier), classifies it with that network's model-best/ and with an
// NB-SVM trained on that network's training side, and picks a weight on the pooled predictions.
// The pick is then scored on the test set (the bag's averaged networks with the all-labels NB-SVM
// at that weight), beside the fixed weights. "NB-SVM alone if better, z ≥ 1" is the rule
// train-classifier applies since session 16 (src/tasks/ensemble-choice.ts), so this script scores
// it on runs trained before it existed. Caches in each network's `bag-weight/`.
//
//   node workbench/few-labels/bag-weight.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]
import { join } from 'node:path';
import { BASELINE_ENSEMBLE_WEIGHT as DEFAULT_WEIGHT } from '../../dist/config/inference.js';
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
  'node workbench/few-labels/bag-weight.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const filter = runFilter(flag);
const GRID = [0, 0.5, 1, 2, 3, 4, 6, 10, Infinity];

const mixed = (net, nb, w) => (w === Infinity ? nb : w === 0 ? net : average([net, nb], [1, w]));
const nll = (rows) =>
  -rows.reduce((s, r) => s + Math.log(Math.max(r.probabilities[r.gold], 1e-12)), 0) / rows.length;
/** log distance from the default weight, for tie-breaks (0 and ∞ are farthest). */
const distance = (w) => (w === 0 || w === Infinity ? 99 : Math.abs(Math.log(w / DEFAULT_WEIGHT)));

/** The weight of GRID with the highest pooled validation accuracy; ties go to the weight nearest the default. */
function pickByAccuracy(pairs, grid = GRID) {
  let best = DEFAULT_WEIGHT;
  let bestScore = -1;
  for (const w of grid) {
    const score = pairs.reduce((s, { net, nb }) => s + accuracy(mixed(net, nb, w)) * net.length, 0);
    if (score > bestScore + 1e-9 || (Math.abs(score - bestScore) <= 1e-9 && distance(w) < distance(best)))
      [best, bestScore] = [w, score];
  }
  return best;
}
function pickByNll(pairs) {
  let best = DEFAULT_WEIGHT;
  let bestLoss = Infinity;
  for (const w of GRID) {
    const loss = pairs.reduce((s, { net, nb }) => s + nll(mixed(net, nb, w)) * net.length, 0);
    if (loss < bestLoss - 1e-12) [best, bestLoss] = [w, loss];
  }
  return best;
}

const table = new ScoreTable();
const picks = new Map(); // "task k" -> picked weights
for (const run of savedRuns(work, `ulmfit-${lm}+bag`, filter)) {
  const bag = readPredictions(join(run.runDir, 'test-predictions.jsonl'));
  const nbTest = readPredictions(join(run.nbsvmDir, 'test-predictions.jsonl'));
  if (!bag || !nbTest) continue;
  const pairs = networksOf(work, lm, run).map(({ dir, seed }) =>
    validationPredictions(run.trainCsv, join(dir, 'model-best'), seed, join(dir, 'bag-weight')),
  );
  const byAccuracy = pickByAccuracy(pairs);
  const byNll = pickByNll(pairs);
  const { tally, choice, strict } = heldOutChoice(pairs, DEFAULT_WEIGHT);
  const wins = tally.baselineRightEnsembleWrong;
  const losses = tally.ensembleRightBaselineWrong;
  // The looser and stricter rules, on the same tally: any margin, and two standard deviations.
  const nbOrDefault = wins > losses ? Infinity : DEFAULT_WEIGHT;
  const z1 = choice.use === 'baseline' ? Infinity : DEFAULT_WEIGHT;
  const z2 = strict === 'baseline' ? Infinity : DEFAULT_WEIGHT;
  const key = `${run.task} ${run.k}`;
  if (!picks.has(key)) picks.set(key, []);
  picks.get(key).push(`${byAccuracy}/${nbOrDefault}/${byNll} (+${wins}−${losses})`);
  const add = (name, rowsOut) => table.add(run.task, run.k, name, accuracy(rowsOut));
  add('×3 (defaults)', mixed(bag, nbTest, 3));
  add('×2', mixed(bag, nbTest, 2));
  add('weight by pooled valid accuracy', mixed(bag, nbTest, byAccuracy));
  add('×3 or NB-SVM alone, by pooled valid accuracy', mixed(bag, nbTest, nbOrDefault));
  add('weight by pooled valid NLL', mixed(bag, nbTest, byNll));
  add('NB-SVM alone if better, z ≥ 1 (train-classifier)', mixed(bag, nbTest, z1));
  add('NB-SVM alone if better, z ≥ 2', mixed(bag, nbTest, z2));
  add('NB-SVM', nbTest);
  add('networks alone', bag);
  process.stderr.write(
    `${key} s${run.seed}: ${pairs.reduce((s, p) => s + p.net.length, 0)} pooled validation predictions; picks ${byAccuracy} / ${nbOrDefault} / ${byNll}\n`,
  );
}
table.print('×3 (defaults)', {
  header: 'picks (accuracy / ×3-or-NB / NLL) (NB-SVM right where ×3 is wrong + / − the reverse)',
  cell: (key) => picks.get(key).join(', '),
});
