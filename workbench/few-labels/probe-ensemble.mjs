#!/usr/bin/env node
// Would a linear probe (linear-probe.mjs: the fine-tuned encoder frozen, a cross-validated logistic
// regression on its pooled features, fit on every label) help the defaults' average? Fits the
// probe for every saved run of a ULMFiT variant, on the same labeled set and with the task's
// fine-tuned encoder (<work>/lm/<task>-<lm>/encoder), and prints mean test accuracy of each
// member and average beside the defaults (the network + NB-SVM ×2), with run-by-run tallies.
//
//   node workbench/few-labels/probe-ensemble.mjs --work <work> [--lm en] [--layers last|all] [--labels 20,100] [--seeds 1,2,3] [--tasks a,b]
//
// --layers all pools every LSTM layer's outputs, not only the last one's (linear-probe.mjs).
// The probe's test probabilities are cached in <run>/probe/test-probabilities.json, and each
// task's test features in <work>/cache/probe-<task>-<lm>.f64 (probe-all/ and -all.f64 with
// --layers all).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitProbe, loadEncoder } from './linear-probe.mjs';
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
  'node workbench/few-labels/probe-ensemble.mjs --work <work> [--lm en] [--layers last|all] [--labels 20,100] [--seeds 1,2,3] [--tasks a,b]',
);
const work = flag('--work');
const lm = flag('--lm', 'en');
const layers = flag('--layers', 'last');
if (layers !== 'last' && layers !== 'all') throw new Error(`--layers: last or all, got '${layers}'`);
const suffix = layers === 'all' ? '-all' : '';
const filter = runFilter(flag);

const testSets = new Map(); // task -> test.csv rows
const testOf = (task) => {
  if (!testSets.has(task)) testSets.set(task, csvRows(join(work, 'tasks', task, 'test.csv')));
  return testSets.get(task);
};

// The task's encoder and test features, loaded only when a run's probe is not cached yet.
let encoder; // { task, features, dim, dispose, Xtest }
async function encoderOf(task) {
  if (encoder?.task === task) return encoder;
  encoder?.dispose();
  const loaded = await loadEncoder(join(work, 'lm', `${task}-${lm}`, 'encoder'), { layers });
  const cache = join(work, 'cache', `probe-${task}-${lm}${suffix}.f64`);
  let Xtest;
  if (existsSync(cache)) {
    const bytes = readFileSync(cache); // a Buffer may sit at an offset inside a shared pool
    Xtest = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } else {
    Xtest = loaded.features(testOf(task).map((r) => r.text));
    mkdirSync(join(work, 'cache'), { recursive: true });
    writeFileSync(cache, Buffer.from(Xtest.buffer));
  }
  encoder = { task, ...loaded, Xtest };
  return encoder;
}

/** The probe's test rows ({gold, probabilities}) for one saved run, fitted once and cached. */
async function probeRows(task, k, seed, runDir) {
  const cache = join(runDir, `probe${suffix}`, 'test-probabilities.json');
  let saved;
  if (existsSync(cache)) saved = JSON.parse(readFileSync(cache, 'utf8'));
  else {
    const { features, dim, Xtest } = await encoderOf(task);
    const train = csvRows(join(work, 'tasks', task, `train-${k}-s${seed}.csv`));
    const classes = [...new Set(train.map((r) => r.label))].sort();
    const started = Date.now();
    const probe = fitProbe(
      features(train.map((r) => r.text)),
      train.map((r) => r.label),
      Xtest,
      classes,
      dim,
    );
    saved = { classes, C: probe.C, cvAccuracy: probe.cvAccuracy, test: probe.test };
    mkdirSync(join(runDir, `probe${suffix}`), { recursive: true });
    writeFileSync(cache, JSON.stringify(saved));
    process.stderr.write(
      `${task} ${k}-s${seed}: C ${probe.C}, cv ${probe.cvAccuracy.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  return testOf(task).map((r, i) => ({
    gold: r.label,
    probabilities: Object.fromEntries(saved.classes.map((c, j) => [c, saved.test[i][j]])),
  }));
}

const table = new ScoreTable();
for (const { task, run, k, seed, runDir, nbsvmDir } of savedRuns(work, `ulmfit-${lm}`, filter)) {
  const network = readPredictions(join(runDir, 'test-predictions.jsonl'));
  const nbsvm = readPredictions(join(nbsvmDir, 'test-predictions.jsonl'));
  if (!network || !nbsvm) continue;
  const probe = await probeRows(task, k, seed, runDir);
  if (probe.some((row, i) => row.gold !== network[i].gold))
    throw new Error(`${task} ${run}: test.csv's order differs from the saved predictions'`);
  table.add(task, k, 'defaults (net + NB×2)', accuracy(average([network, nbsvm], [1, 2])));
  table.add(task, k, 'NB-SVM', accuracy(nbsvm));
  table.add(task, k, 'network', accuracy(network));
  table.add(task, k, 'probe', accuracy(probe));
  table.add(task, k, 'probe + NB', accuracy(average([probe, nbsvm], [1, 1])));
  table.add(task, k, 'net + probe + NB×2', accuracy(average([network, probe, nbsvm], [1, 1, 2])));
  table.add(task, k, 'net + probe + NB', accuracy(average([network, probe, nbsvm], [1, 1, 1])));
}
encoder?.dispose();
table.print('defaults (net + NB×2)');
