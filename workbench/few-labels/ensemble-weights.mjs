#!/usr/bin/env node
// How much should NB-SVM weigh when averaged with a ULMFiT classifier? Reads the test-set
// predictions the benchmark saved (`<work>/runs/<task>/<variant>/<k>-s<seed>/test-predictions.jsonl`,
// `classify --json` rows with every class probability), averages a ULMFiT variant's with NB-SVM's
// at several weights, and prints mean accuracy per task and label count, then how often each
// weight beats the equal average (or `--versus <w>`) run by run. Trains and classifies nothing.
//
//   node workbench/few-labels/ensemble-weights.mjs --work <work> [--ulmfit ulmfit-en] [--weights 0.5,1,2,3] [--seeds 4,5,6] [--versus 2]
//
// Also prints each member's mean top probability beside its accuracy (how confident it is).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  accuracy as accuracyOf,
  average,
  commandLine,
  mean,
  readPredictions as predictions,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/ensemble-weights.mjs --work <work> [--ulmfit <variant>] [--weights 0.5,1,2,3] [--seeds 4,5,6] [--versus 2]',
);
const work = flag('--work');
const ulmfitId = flag('--ulmfit', 'ulmfit-en');
const weights = flag('--weights', '0.5,1,1.5,2,3').split(',').map(Number);
const seeds = flag('--seeds')?.split(',').map(Number);
const versus = Number(flag('--versus', '1'));

/** Accuracy of the weighted average of the members' probabilities. */
const accuracy = (members, memberWeights) => accuracyOf(average(members, memberWeights));

const confidence = (rows) => mean(rows.map((r) => Math.max(...Object.values(r.probabilities))));

const lines = [
  `| task | labels/class | runs | ${ulmfitId} alone (top p) | NB-SVM alone (top p) | ${weights.map((w) => `NB-SVM ×${w}`).join(' | ')} |`,
  `|---|---:|---:|---:|---:|${weights.map(() => '---:').join('|')}|`,
];
const versusReference = new Map(weights.map((w) => [w, { better: 0, worse: 0, same: 0 }]));
for (const task of readdirSync(join(work, 'runs')).sort()) {
  const ulmfitDir = join(work, 'runs', task, ulmfitId);
  if (!existsSync(ulmfitDir)) continue;
  const byLabels = new Map();
  for (const run of readdirSync(ulmfitDir)) {
    const match = /^(\d+)-s(\d+)$/.exec(run);
    if (!match) continue;
    const u = predictions(join(ulmfitDir, run, 'test-predictions.jsonl'));
    const nb = predictions(join(work, 'runs', task, 'nbsvm', run, 'test-predictions.jsonl'));
    if (!u || !nb || u.length !== nb.length) continue;
    const k = Number(match[1]);
    if (seeds && !seeds.includes(Number(match[2]))) continue;
    if (!byLabels.has(k)) byLabels.set(k, []);
    const reference = accuracy([u, nb], [1, versus]);
    const scores = weights.map((w) => accuracy([u, nb], [1, w]));
    weights.forEach((w, i) => {
      const tally = versusReference.get(w);
      if (scores[i] > reference) tally.better += 1;
      else if (scores[i] < reference) tally.worse += 1;
      else tally.same += 1;
    });
    byLabels.get(k).push({
      alone: accuracy([u], [1]),
      nbsvm: accuracy([nb], [1]),
      confU: confidence(u),
      confNb: confidence(nb),
      scores,
    });
  }
  for (const [k, runs] of [...byLabels].sort((a, b) => a[0] - b[0])) {
    const f = (xs) => mean(xs).toFixed(3);
    lines.push(
      `| ${task} | ${k} | ${runs.length} | ${f(runs.map((r) => r.alone))} (${f(runs.map((r) => r.confU))}) | ` +
        `${f(runs.map((r) => r.nbsvm))} (${f(runs.map((r) => r.confNb))}) | ` +
        weights.map((_, i) => f(runs.map((r) => r.scores[i]))).join(' | ') +
        ' |',
    );
  }
}
process.stdout.write(lines.join('\n') + '\n\n');
for (const [w, t] of versusReference)
  if (w !== versus)
    process.stdout.write(
      `NB-SVM ×${w} against ×${versus}, run by run: better ${t.better}, worse ${t.worse}, equal ${t.same}\n`,
    );
