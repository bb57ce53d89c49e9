#!/usr/bin/env node
// Should the network and NB-SVM be averaged with a fixed weight, or after calibrating each on the
// run's own validation documents? For every saved ULMFiT run of a work folder this rebuilds the
// validation split train-classifier drew (the same `splitValid` and seed), classifies it with the
// run's model-best/ and with an NB-SVM trained on the training side only (what train-classifier
// scores before its refit), then compares ways of combining the two on the saved test predictions
// (the network's and the all-labels NB-SVM's). Caches in each run's `calibration/`.
//
//   node workbench/few-labels/calibration.mjs --work <work> [--ulmfit ulmfit-en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  accuracy,
  average,
  commandLine,
  readPredictions,
  runFilter,
  savedRuns,
  ScoreTable,
  validationPredictions,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/calibration.mjs --work <work> [--ulmfit ulmfit-en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const ulmfitId = flag('--ulmfit', 'ulmfit-en');
const filter = runFilter(flag);

// ---- combination methods: each gets {net, nb} × {valid, test} as rows of probabilities ----

const sharpen = (p, t) => {
  const out = {};
  let z = 0;
  for (const [label, q] of Object.entries(p)) z += out[label] = Math.pow(Math.max(q, 1e-12), 1 / t);
  for (const label of Object.keys(out)) out[label] /= z;
  return out;
};
const nll = (rows) =>
  -rows.reduce((s, r) => s + Math.log(Math.max(r.probabilities[r.gold], 1e-12)), 0) / rows.length;
const calibrated = (rows, t) =>
  rows.map((r) => ({ gold: r.gold, probabilities: sharpen(r.probabilities, t) }));
const TEMPS = Array.from({ length: 61 }, (_, i) => Math.pow(10, -1.5 + i * 0.05)); // 0.03 … 31.6
/** The temperature (from TEMPS) with the lowest NLL on `rows`. */
function fitTemperature(rows) {
  let best = 1;
  let bestLoss = Infinity;
  for (const t of TEMPS) {
    const loss = nll(calibrated(rows, t));
    if (loss < bestLoss - 1e-12) [best, bestLoss] = [t, loss];
  }
  return best;
}
const mix = (a, b, wa, wb) => average([a, b], [wa, wb]);
const product = (a, b) =>
  a.map((r, i) => {
    const p = {};
    for (const label of Object.keys(r.probabilities))
      p[label] =
        Math.log(Math.max(r.probabilities[label], 1e-12)) +
        Math.log(Math.max(b[i].probabilities[label], 1e-12));
    return { gold: r.gold, probabilities: p };
  });
const WEIGHTS = [0, 0.25, 0.5, 1, 2, 4, 8, Infinity];

const methods = {
  'net alone': ({ net }) => net.test,
  'NB-SVM alone': ({ nb }) => nb.test,
  'NB-SVM ×2 (now)': ({ net, nb }) => mix(net.test, nb.test, 1, 2),
  'calibrated, averaged': ({ net, nb, tNet, tNb }) =>
    mix(calibrated(net.test, tNet), calibrated(nb.test, tNb), 1, 1),
  'calibrated, product': ({ net, nb, tNet, tNb }) =>
    product(calibrated(net.test, tNet), calibrated(nb.test, tNb)),
  'net calibrated, NB-SVM ×2': ({ net, nb, tNet }) => mix(calibrated(net.test, tNet), nb.test, 1, 2),
  'weight by valid NLL': ({ net, nb }) => {
    let best = WEIGHTS[0];
    let bestLoss = Infinity;
    for (const w of WEIGHTS) {
      const loss = nll(w === Infinity ? nb.valid : mix(net.valid, nb.valid, 1, w));
      if (loss < bestLoss - 1e-12) [best, bestLoss] = [w, loss];
    }
    return best === Infinity ? nb.test : mix(net.test, nb.test, 1, best);
  },
  'pick by valid accuracy': ({ net, nb }) => {
    const scores = [accuracy(net.valid), accuracy(mix(net.valid, nb.valid, 1, 2)), accuracy(nb.valid)];
    const i = scores.indexOf(Math.max(...scores));
    return [net.test, mix(net.test, nb.test, 1, 2), nb.test][i];
  },
};

const table = new ScoreTable();
const temps = new Map(); // "task k" -> [[tNet, tNb]]
for (const { task, run, k, seed, runDir, nbsvmDir } of savedRuns(work, ulmfitId, filter)) {
  const nbTestPath = join(nbsvmDir, 'test-predictions.jsonl');
  const netTestPath = join(runDir, 'test-predictions.jsonl');
  if (!existsSync(nbTestPath) || !existsSync(netTestPath) || !existsSync(join(runDir, 'model-best')))
    continue;
  const trainCsv = join(work, 'tasks', task, `train-${k}-s${seed}.csv`);
  const { net: netValid, nb: nbValid } = validationPredictions(
    trainCsv,
    join(runDir, 'model-best'),
    seed,
    join(runDir, 'calibration'),
  );
  const data = {
    net: { valid: netValid, test: readPredictions(netTestPath) },
    nb: { valid: nbValid, test: readPredictions(nbTestPath) },
  };
  data.tNet = fitTemperature(netValid);
  data.tNb = fitTemperature(nbValid);
  const key = `${task} ${k}`;
  if (!temps.has(key)) temps.set(key, []);
  temps.get(key).push([data.tNet, data.tNb, netValid.length]);
  for (const [name, method] of Object.entries(methods)) table.add(task, k, name, accuracy(method(data)));
  process.stderr.write(
    `${key} s${seed}: T net ${data.tNet.toFixed(2)} NB ${data.tNb.toFixed(2)} (${netValid.length} valid)\n`,
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
table.print('NB-SVM ×2 (now)', {
  header: 'T net / T NB-SVM (median)',
  cell: (key) =>
    `${median(temps.get(key).map((t) => t[0])).toFixed(2)} / ${median(temps.get(key).map((t) => t[1])).toFixed(2)}`,
});
