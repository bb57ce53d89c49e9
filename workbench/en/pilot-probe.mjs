#!/usr/bin/env node
// How much a general language model's features alone tell the few-label benchmark's classes
// apart: the linear probe (workbench/few-labels/linear-probe.mjs: frozen encoder, concat-pooled
// last-layer features, L2 logistic regression with C by cross-validation) on each task's labeled
// sets, straight from the pretrained model (no fine-tuning on the task's text). Cheap enough to
// compare pilot models of different sizes, which the full benchmark (fine-tuning per task, three
// networks per labeled set) is not.
//
//   node workbench/en/pilot-probe.mjs --work <few-labels work> <model dir|name> [...]
//        [--tasks a,b] [--labels 20,100] [--seeds 1,2,3] [--layers last|all] [--json out.json]
//
// Prints one row per model: mean test accuracy per task and label count over the seeds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModelDir } from '../../dist/index.js';
import { fitProbe, loadEncoder } from '../few-labels/linear-probe.mjs';
import { csvRows } from '../few-labels/runners.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  return args.splice(i, 2)[1];
};
const work = flag('--work');
const tasks = flag('--tasks', 'brown-genres,spam,sotu-party,debian-sections').split(',');
const labelCounts = flag('--labels', '20,100').split(',').map(Number);
const seeds = flag('--seeds', '1,2,3').split(',').map(Number);
const layers = flag('--layers', 'last');
const jsonOut = flag('--json');
const models = args;
if (!work || models.length === 0) {
  process.stderr.write(
    'usage: pilot-probe.mjs --work <few-labels work> <model> [...] [--tasks a,b] [--labels 20,100] [--seeds 1,2,3] [--layers last|all] [--json out.json]\n',
  );
  process.exit(2);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const results = [];
for (const name of models) {
  const dir = resolveModelDir(name, { prefer: 'lm' });
  const { features, dim, dispose } = await loadEncoder(dir, { layers });
  const row = { model: name, cells: {} };
  for (const task of tasks) {
    const taskDir = join(work, 'tasks', task);
    const test = csvRows(join(taskDir, 'test.csv'));
    const classes = [...new Set(test.map((r) => r.label))].sort();
    const gold = test.map((r) => classes.indexOf(r.label));
    const Xtest = features(test.map((r) => r.text));
    // The labeled sets of a seed are nested: features of the largest cover the others.
    const cache = new Map();
    const featuresOf = (texts) => {
      const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
      if (missing.length > 0) {
        const X = features(missing);
        missing.forEach((t, i) => cache.set(t, X.subarray(i * dim, (i + 1) * dim)));
      }
      const out = new Float64Array(texts.length * dim);
      texts.forEach((t, i) => out.set(cache.get(t), i * dim));
      return out;
    };
    for (const k of labelCounts) {
      const scores = [];
      for (const seed of seeds) {
        const train = csvRows(join(taskDir, `train-${k}-s${seed}.csv`));
        const probe = fitProbe(
          featuresOf(train.map((r) => r.text)),
          train.map((r) => r.label),
          Xtest,
          classes,
          dim,
        );
        const argmax = (p) => p.indexOf(Math.max(...p));
        scores.push(probe.test.filter((p, i) => argmax(p) === gold[i]).length / test.length);
      }
      row.cells[`${task}@${k}`] = { accuracy: mean(scores), seeds: scores };
      process.stderr.write(
        `${name} ${task} ${k}: ${mean(scores).toFixed(3)} (${scores.map((s) => s.toFixed(3)).join(', ')})\n`,
      );
    }
  }
  dispose();
  results.push(row);
}

const columns = tasks.flatMap((task) => labelCounts.map((k) => `${task}@${k}`));
console.log(`| model | ${columns.join(' | ')} | mean |`);
console.log(`|---|${columns.map(() => '---:').join('|')}|---:|`);
for (const row of results) {
  const values = columns.map((c) => row.cells[c].accuracy);
  console.log(
    `| ${row.model} | ${values.map((v) => v.toFixed(3)).join(' | ')} | ${mean(values).toFixed(3)} |`,
  );
}
if (jsonOut)
  writeFileSync(jsonOut, JSON.stringify({ tasks, labelCounts, seeds, layers, results }, null, 2) + '\n');
