#!/usr/bin/env node
// The defaults of two builds on the same labeled sets: the `ulmfit-en+nbsvm` runs of a new work
// folder (session 14: the bag of networks) against an old one's (one network), beside the old
// folder's NB-SVM, its first network alone and session 13's workbench bag (the saved predictions
// of `ulmfit-en`, `ulmfit-en@bag1001`, `ulmfit-en@bag1002`, averaged, then with NB-SVM ×2).
// Trains and classifies nothing.
//
//   node workbench/few-labels/compare-builds.mjs --work <new work> --old <old work> [--runs]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracy, average, commandLine, mean, readPredictions } from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/compare-builds.mjs --work <new work> --old <old work> [--runs]',
);
const oldWork = flag('--old');
const read = (work) =>
  readFileSync(join(work, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((r) => r.kind === 'run');
const fl10 = read(oldWork);
const fl14 = read(flag('--work'));
const key = (r) => `${r.task} ${r.labels} ${r.seed}`;
const find = (rows, runner, k) => rows.find((r) => r.runner === runner && key(r) === k);
const cells = new Map();
let better = 0,
  worse = 0,
  tie = 0,
  same = 0,
  diff = 0;
const perRun = [];
for (const r of fl14.filter((r) => r.runner === 'ulmfit-en+nbsvm')) {
  const k = key(r);
  const old = find(fl10, 'ulmfit-en+nbsvm', k),
    nb = find(fl10, 'nbsvm', k),
    net = find(fl10, 'ulmfit-en', k);
  const first = find(fl14, 'ulmfit-en', k);
  if (!old || !nb) continue;
  if (first && net) first.accuracy === net.accuracy ? same++ : diff++;
  // session 13's workbench bag on this run
  const dir = (v) => join(oldWork, 'runs', r.task, v, `${r.labels}-s${r.seed}`, 'test-predictions.jsonl');
  const members = ['ulmfit-en', 'ulmfit-en@bag1001', 'ulmfit-en@bag1002'].map((v) => readPredictions(dir(v)));
  const nbp = readPredictions(
    join(oldWork, 'runs', r.task, 'nbsvm', `${r.labels}-s${r.seed}`, 'test-predictions.jsonl'),
  );
  const wb =
    members.every(Boolean) && nbp ? accuracy(average([average(members, [1, 1, 1]), nbp], [1, 2])) : undefined;
  const c = `${r.task} ${r.labels}`;
  if (!cells.has(c)) cells.set(c, { built: [], old: [], nb: [], net: [], wb: [], secs: [], oldSecs: [] });
  const cell = cells.get(c);
  cell.built.push(r.accuracy);
  cell.old.push(old.accuracy);
  cell.nb.push(nb.accuracy);
  cell.net.push(net?.accuracy ?? NaN);
  if (wb !== undefined) cell.wb.push(wb);
  cell.secs.push(first?.trainSeconds ?? NaN);
  cell.oldSecs.push(net?.trainSeconds ?? NaN);
  const d = r.accuracy - old.accuracy;
  if (Math.abs(d) < 1e-9) tie++;
  else if (d > 0) better++;
  else worse++;
  perRun.push(
    `${k}: built ${r.accuracy.toFixed(3)} old ${old.accuracy.toFixed(3)} nb ${nb.accuracy.toFixed(3)} wb ${wb?.toFixed(3) ?? '-'}`,
  );
}
const f = (xs) => (xs.length ? mean(xs).toFixed(3) : '-');
console.log(
  '| task, labels a class (runs) | built bag + NB×2 (new defaults) | session 13 workbench bag + NB×2 | old defaults (1 network + NB×2) | network alone | NB-SVM | training s, 3 networks / 1 |',
);
console.log('|---|---|---|---|---|---|---|');
for (const [c, v] of [...cells].sort())
  console.log(
    `| ${c} (${v.built.length}) | ${f(v.built)} | ${f(v.wb)} (${v.wb.length}) | ${f(v.old)} | ${f(v.net)} | ${f(v.nb)} | ${f(v.secs.filter(Number.isFinite)).replace(/\.\d+$/, '')} / ${f(v.oldSecs.filter(Number.isFinite)).replace(/\.\d+$/, '')} |`,
  );
console.log(
  `\nrun by run vs old defaults: better ${better}, worse ${worse}, equal ${tie}; first network identical to fl10's network: ${same} of ${same + diff}`,
);
if (process.argv.includes('--runs')) console.log(perRun.join('\n'));
