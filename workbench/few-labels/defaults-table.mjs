#!/usr/bin/env node
// The defaults of session 15 (a run's networks averaged, then with NB-SVM ×3) beside those they
// replace (the networks with NB-SVM ×2, session 14; the first network with NB-SVM ×2, sessions
// 10–13), each member alone, NB-SVM and fastText, on the saved test predictions of a work folder:
// `ulmfit-en` (the first network), `ulmfit-en+bag` (`run.mjs --runners bag`) and `nbsvm`.
// Trains and classifies nothing.
//
//   node workbench/few-labels/defaults-table.mjs --work <work> [--lm en] [--tasks …] [--labels …] [--seeds …]
import { join } from 'node:path';
import { readJsonl } from './common.mjs';
import {
  ScoreTable,
  accuracy,
  average,
  commandLine,
  readPredictions,
  runFilter,
  savedRuns,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/defaults-table.mjs --work <work> [--lm en] [--tasks …] [--labels …] [--seeds …]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const results = readJsonl(join(work, 'results.jsonl')).filter((r) => r.kind === 'run');
/** The better fastText setting's accuracy on the same labeled set (NaN when fastText did not run). */
function fastText(task, k, seed) {
  const runs = results.filter(
    (r) => r.task === task && r.labels === k && r.seed === seed && r.runner.startsWith('fasttext'),
  );
  return runs.length === 0 ? Number.NaN : Math.max(...runs.map((r) => r.accuracy));
}

const table = new ScoreTable();
let skipped = 0;
for (const run of savedRuns(work, `ulmfit-${lm}+bag`, runFilter(flag))) {
  const bag = readPredictions(join(run.runDir, 'test-predictions.jsonl'));
  const first = readPredictions(
    join(work, 'runs', run.task, `ulmfit-${lm}`, run.run, 'test-predictions.jsonl'),
  );
  const nbsvm = readPredictions(join(run.nbsvmDir, 'test-predictions.jsonl'));
  if (!bag || !first || !nbsvm) {
    skipped++;
    continue;
  }
  const add = (name, value) => table.add(run.task, run.k, name, value);
  add('networks + NB-SVM ×3 (defaults)', accuracy(average([bag, nbsvm], [1, 3])));
  add('networks + NB-SVM ×2', accuracy(average([bag, nbsvm], [1, 2])));
  add('first network + NB-SVM ×2', accuracy(average([first, nbsvm], [1, 2])));
  add('first network + NB-SVM ×3', accuracy(average([first, nbsvm], [1, 3])));
  add('networks alone', accuracy(bag));
  add('first network alone', accuracy(first));
  add('NB-SVM', accuracy(nbsvm));
  add('fastText (better setting)', fastText(run.task, run.k, run.seed));
}
table.print('networks + NB-SVM ×2');
if (skipped > 0) console.log(`\n${skipped} runs left out: a member's test predictions are missing`);
