#!/usr/bin/env node
// The linear probe (linear-probe.mjs) on one labeled set, printed beside NB-SVM on the same labels
// and the two averaged:
//
//   node workbench/few-labels/probe.mjs <encoder dir> <train.csv> <test.csv>
//   (PROBS_OUT=<file> also writes the test set's probabilities)
import { writeFileSync } from 'node:fs';
import { trainNbsvm } from '../../dist/baseline/nbsvm.js';
import { fitProbe, loadEncoder } from './linear-probe.mjs';
import { csvRows } from './runners.mjs';

const [encDir, trainCsv, testCsv] = process.argv.slice(2);
if (!testCsv) {
  process.stderr.write('usage: probe.mjs <encoder dir> <train.csv> <test.csv>\n');
  process.exit(2);
}
const train = csvRows(trainCsv);
const test = csvRows(testCsv);
const classes = [...new Set(train.map((r) => r.label))].sort();
const { features, dim, dispose } = await loadEncoder(encDir);
const started = Date.now();
const Xtrain = features(train.map((r) => r.text));
const Xtest = features(test.map((r) => r.text));
console.error(`features ${((Date.now() - started) / 1000).toFixed(1)} s`);
dispose();
const probe = fitProbe(
  Xtrain,
  train.map((r) => r.label),
  Xtest,
  classes,
  dim,
);
const nb = trainNbsvm(
  train.map((r) => r.text),
  train.map((r) => r.label),
);
const nbProbabilities = nb.predictProbabilities(test.map((r) => r.text));
const nbColumn = classes.map((c) => nb.labels.indexOf(c));
const nbRows = test.map((_, i) => nbColumn.map((k) => nbProbabilities[i * classes.length + k]));
const gold = test.map((r) => classes.indexOf(r.label));
const argmax = (a) => a.indexOf(Math.max(...a));
const accuracy = (rows) => rows.filter((p, i) => argmax(p) === gold[i]).length / rows.length;
if (process.env.PROBS_OUT) {
  writeFileSync(process.env.PROBS_OUT, JSON.stringify({ classes, probe: probe.test, nbsvm: nbRows, gold }));
}
console.log(
  JSON.stringify({
    C: probe.C,
    cv: +probe.cvAccuracy.toFixed(3),
    frozenLR: +accuracy(probe.test).toFixed(4),
    nbsvm: +accuracy(nbRows).toFixed(4),
    ens: +accuracy(probe.test.map((p, i) => p.map((v, k) => (v + nbRows[i][k]) / 2))).toFixed(4),
  }),
);
