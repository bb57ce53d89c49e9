#!/usr/bin/env node
// Would a word-vector probe (glove-probe.mjs's features: mean- and max-pooled GloVe vectors, a
// cross-validated logistic regression on every label) help the defaults? For every saved run of a
// variant, averages its `classify --model <run>` test probabilities (the defaults) with the probe
// fitted on the same labeled set, and prints mean test accuracy beside NB-SVM.
//
//   node workbench/few-labels/glove-ensemble.mjs --work <work> --vectors <wink json> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2,3]
import { join } from 'node:path';
import { gloveFeatures } from './glove-features.mjs';
import { fitProbe } from './linear-probe.mjs';
import { csvRows } from './runners.mjs';
import {
  accuracy,
  average,
  commandLine,
  readPredictions,
  runFilter,
  savedRuns,
  ScoreTable,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/glove-ensemble.mjs --work <work> --vectors <wink json> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2,3]',
);
const work = flag('--work');
const { features, dim } = gloveFeatures(flag('--vectors'));
const lm = flag('--lm', 'en');
const filter = runFilter(flag);

const testFeatures = new Map();
const table = new ScoreTable();
for (const { task, run, k, seed, runDir, nbsvmDir } of savedRuns(work, `ulmfit-${lm}+nbsvm`, filter)) {
  const defaults = readPredictions(join(runDir, 'test-predictions.jsonl'));
  const networks = readPredictions(
    join(work, 'runs', task, `ulmfit-${lm}+bag`, run, 'test-predictions.jsonl'),
  );
  const nb = readPredictions(join(nbsvmDir, 'test-predictions.jsonl'));
  if (!defaults || !nb || !networks) continue;
  const test = csvRows(join(work, 'tasks', task, 'test.csv'));
  if (!testFeatures.has(task)) testFeatures.set(task, features(test.map((r) => r.text)));
  const train = csvRows(join(work, 'tasks', task, `train-${k}-s${seed}.csv`));
  const classes = [...new Set(train.map((r) => r.label))].sort();
  const probe = fitProbe(
    features(train.map((r) => r.text)),
    train.map((r) => r.label),
    testFeatures.get(task),
    classes,
    dim,
  );
  const glove = probe.test.map((p, i) => ({
    gold: test[i].label,
    probabilities: Object.fromEntries(classes.map((c, j) => [c, p[j]])),
  }));
  if (defaults.length !== glove.length || nb.length !== glove.length)
    throw new Error(`${runDir}: test sizes differ`);
  table.add(task, k, 'nbsvm', accuracy(nb));
  table.add(task, k, 'defaults', accuracy(defaults));
  table.add(task, k, 'glove', accuracy(glove));
  table.add(task, k, 'nb×3+glove', accuracy(average([nb, glove], [3, 1])));
  table.add(task, k, 'nets', accuracy(networks));
  table.add(task, k, 'nets+nb×3', accuracy(average([networks, nb], [1, 3])));
  for (const g of [1, 2, 3])
    table.add(task, k, `nets+nb×3+glove×${g}`, accuracy(average([networks, nb, glove], [1, 3, g])));
}
table.print('defaults');
