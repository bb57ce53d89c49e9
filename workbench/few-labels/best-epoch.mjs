#!/usr/bin/env node
// Which epoch should a network on few labels keep? train-classifier's model-best/ is the first
// epoch of highest validation accuracy (the lower loss breaking ties), on a validation share of
// 8 to 80 documents, where one document is 1.25 to 12.5 points. This scores, for every saved run of
// the bag (`ulmfit-<lm>+bag`), each network's model-best/ and model-last/ on the test set, and the
// bag's average of each beside NB-SVM ×3, and counts which epoch a noise-aware rule would keep: the
// last epoch whose validation accuracy is within one standard error of the best one
// (√(p(1−p)/n), p the best accuracy, n the share's documents). Run choice-epochs.mjs first: it
// caches each network's share and model-last/ test predictions; this adds `choice-best/test-best.jsonl`.
//
//   node workbench/few-labels/best-epoch.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNetworksOf } from '../../dist/infer/classify.js';
import {
  ScoreTable,
  accuracy,
  average,
  commandLine,
  predictionsOf,
  readPredictions,
  runFilter,
  savedRuns,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/best-epoch.mjs --work <work> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const filter = runFilter(flag);
const WEIGHT = 3;

/** The metrics.jsonl rows of a network's run directory, in training order. */
const epochs = (runDir) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"accuracy"'))
    .map((line) => JSON.parse(line));

/** Index of the first epoch of highest accuracy, the lower loss breaking ties (run-dir.ts bestRow). */
function shippedPick(rows) {
  let best = 0;
  rows.forEach((row, i) => {
    const b = rows[best];
    if (row.accuracy > b.accuracy || (row.accuracy === b.accuracy && row.valid_loss < b.valid_loss)) best = i;
  });
  return best;
}

/** Index of the last epoch within one standard error of the highest accuracy. */
function withinNoisePick(rows, documents) {
  const top = Math.max(...rows.map((r) => r.accuracy));
  const se = Math.sqrt((top * (1 - top)) / documents);
  let pick = 0;
  rows.forEach((row, i) => {
    if (row.accuracy >= top - se - 1e-12) pick = i;
  });
  return pick;
}

const table = new ScoreTable();
const picks = new Map(); // "task k" -> { last, best, other } counts of the noise-aware rule's pick
for (const run of savedRuns(work, `ulmfit-${lm}+bag`, filter)) {
  const nbTest = readPredictions(join(run.nbsvmDir, 'test-predictions.jsonl'));
  if (!nbTest) continue;
  const testCsv = join(work, 'tasks', run.task, 'test.csv');
  const firstBest = join(work, 'runs', run.task, `ulmfit-${lm}`, run.run, 'model-best');
  const runDirs = [firstBest, ...runNetworksOf(firstBest)].map((dir) => join(dir, '..'));
  const key = `${run.task} ${run.k}`;
  if (!picks.has(key)) picks.set(key, { last: 0, best: 0, other: 0 });
  const bestTest = [];
  const lastTest = [];
  const ruleTest = [];
  for (const dir of runDirs) {
    const lastCache = join(dir, 'choice-last', 'test-last.jsonl');
    const validCsv = join(dir, 'choice-best', 'valid.csv');
    if (!existsSync(lastCache) || !existsSync(validCsv))
      throw new Error(`${dir}: run choice-epochs.mjs on this run first`);
    const best = predictionsOf(join(dir, 'choice-best', 'test-best.jsonl'), join(dir, 'model-best'), testCsv);
    const last = readPredictions(lastCache);
    bestTest.push(best);
    lastTest.push(last);
    const rows = epochs(dir);
    const documents = readFileSync(validCsv, 'utf8').trim().split('\n').length - 1;
    const pick = withinNoisePick(rows, documents);
    const kind = pick === rows.length - 1 ? 'last' : pick === shippedPick(rows) ? 'best' : 'other';
    picks.get(key)[kind] += 1;
    // An epoch neither saved as model-best/ nor model-last/ cannot be scored: counted, and stood in
    // for by model-best/.
    ruleTest.push(kind === 'last' ? last : best);
  }
  const bag = (members) =>
    average(
      members,
      members.map(() => 1),
    );
  table.add(
    run.task,
    run.k,
    'defaults (model-best)',
    accuracy(average([bag(bestTest), nbTest], [1, WEIGHT])),
  );
  table.add(
    run.task,
    run.k,
    'defaults with model-last',
    accuracy(average([bag(lastTest), nbTest], [1, WEIGHT])),
  );
  table.add(
    run.task,
    run.k,
    'defaults, last within 1 SE',
    accuracy(average([bag(ruleTest), nbTest], [1, WEIGHT])),
  );
  table.add(run.task, run.k, 'networks, model-best', accuracy(bag(bestTest)));
  table.add(run.task, run.k, 'networks, model-last', accuracy(bag(lastTest)));
  table.add(run.task, run.k, 'networks, last within 1 SE', accuracy(bag(ruleTest)));
  table.add(run.task, run.k, 'first network, model-best', accuracy(bestTest[0]));
  table.add(run.task, run.k, 'first network, model-last', accuracy(lastTest[0]));
  table.add(run.task, run.k, 'NB-SVM', accuracy(nbTest));
}
table.print('defaults (model-best)', {
  header: 'the 1-SE rule keeps: last / model-best / another epoch',
  cell: (key) => {
    const { last, best, other } = picks.get(key);
    return `${last} / ${best} / ${other}`;
  },
});
