#!/usr/bin/env node
// Which epoch should a network on few labels keep? train-classifier's model-best/ is the first
// epoch of highest validation accuracy (the lower loss breaking ties: run-dir.ts bestRow), on a
// validation share of 8 to 80 documents, where one document is 1.25 to 12.5 points. This scores,
// for every saved run of the bag (`ulmfit-<lm>+bag`), each network's model-best/ and model-last/
// on the test set, alone, as the bag's average and beside NB-SVM ×3, and counts which epoch a
// noise-aware rule would keep: the last whose validation accuracy is within one standard error of
// the highest (√(p(1−p)/n), p the highest accuracy, n the share's documents). Caches each
// network's test predictions in its `best-epoch/`.
//
//   node workbench/few-labels/best-epoch.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]
import { join } from 'node:path';
import { BASELINE_ENSEMBLE_WEIGHT } from '../../dist/config/inference.js';
import { readEpochRecords } from '../../dist/tasks/epoch-record.js';
import { bestRow } from '../../dist/tasks/run-dir.js';
import {
  ScoreTable,
  accuracy,
  average,
  commandLine,
  networksOf,
  predictionsOf,
  readPredictions,
  runFilter,
  savedRuns,
  validShare,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/best-epoch.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const filter = runFilter(flag);

/** A network's epochs as run-dir.ts ranks them, from its metrics.jsonl, in training order. */
const epochs = (runDir) =>
  readEpochRecords(runDir).map((r) => ({
    accuracy: r.accuracy,
    validLoss: r.valid_loss,
    trainLoss: r.train_loss,
  }));

/** Index of the last epoch within one standard error of the highest accuracy. */
function withinNoisePick(rows, documents) {
  const top = Math.max(...rows.map((r) => r.accuracy));
  const se = Math.sqrt((top * (1 - top)) / documents);
  return rows.findLastIndex((row) => row.accuracy >= top - se - 1e-12);
}

const equalWeights = (members) =>
  average(
    members,
    members.map(() => 1),
  );
const table = new ScoreTable();
const picks = new Map(); // "task k" -> { last, best, other } counts of the noise-aware rule's pick
for (const run of savedRuns(work, `ulmfit-${lm}+bag`, filter)) {
  const nbTest = readPredictions(join(run.nbsvmDir, 'test-predictions.jsonl'));
  if (!nbTest) continue;
  const key = `${run.task} ${run.k}`;
  if (!picks.has(key)) picks.set(key, { last: 0, best: 0, other: 0 });
  const bestTest = [];
  const lastTest = [];
  const ruleTest = [];
  for (const { dir, seed } of networksOf(work, lm, run)) {
    const test = (model) =>
      predictionsOf(join(dir, 'best-epoch', `test-${model}.jsonl`), join(dir, model), run.testCsv);
    const best = test('model-best');
    const last = test('model-last');
    bestTest.push(best);
    lastTest.push(last);
    const rows = epochs(dir);
    const pick = withinNoisePick(rows, validShare(run.trainCsv, seed).valid.length);
    const kind =
      pick === rows.length - 1 ? 'last' : rows[pick] === bestRow(rows, 'accuracy') ? 'best' : 'other';
    picks.get(key)[kind] += 1;
    // An epoch neither saved as model-best/ nor model-last/ cannot be scored: counted, and stood in
    // for by model-best/.
    ruleTest.push(kind === 'last' ? last : best);
  }
  const add = (name, rows) => table.add(run.task, run.k, name, accuracy(rows));
  const defaults = (networks) => average([equalWeights(networks), nbTest], [1, BASELINE_ENSEMBLE_WEIGHT]);
  add('defaults (model-best)', defaults(bestTest));
  add('defaults with model-last', defaults(lastTest));
  add('defaults, last within 1 SE', defaults(ruleTest));
  add('networks, model-best', equalWeights(bestTest));
  add('networks, model-last', equalWeights(lastTest));
  add('networks, last within 1 SE', equalWeights(ruleTest));
  add('first network, model-best', bestTest[0]);
  add('first network, model-last', lastTest[0]);
  add('NB-SVM', nbTest);
}
table.print('defaults (model-best)', {
  header: 'the 1-SE rule keeps: last / model-best / another epoch',
  cell: (key) => {
    const { last, best, other } = picks.get(key);
    return `${last} / ${best} / ${other}`;
  },
});
