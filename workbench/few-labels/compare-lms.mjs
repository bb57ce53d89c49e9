#!/usr/bin/env node
// Two language models side by side on the few-label runs of a work folder, cell by cell on the
// labeled sets both have run: the defaults (`ulmfit-<lm>+nbsvm`, what `classify --model <run>`
// gives), the networks alone (`ulmfit-<lm>+bag`) and NB-SVM, with run-by-run counts. Reads
// `<work>/results.jsonl` (and `experiments-*.jsonl` with --also); trains nothing.
//
//   node workbench/few-labels/compare-lms.mjs --work <work> --old en --new en-glove [--also experiments-choice.jsonl:en@choice]
//        [--old-baseline-alone debian-sections:100:1,...]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from './common.mjs';
import { commandLine, mean } from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/compare-lms.mjs --work <work> --old en --new en-glove [--also <file>:<lm id>] [--old-baseline-alone task:k:seed,...]',
);
const work = flag('--work');
const oldLm = flag('--old', 'en');
const newLm = flag('--new', 'en-glove');
const also = flag('--also', undefined);
// Runs saved before train-classifier's ensemble choice (session 16) whose choice, rebuilt by
// bag-weight.mjs, is NB-SVM alone: their defaults are NB-SVM's accuracy (task:k:seed,...).
const baselineAlone = new Set((flag('--old-baseline-alone', '') || '').split(',').filter(Boolean));

const acc = new Map(); // "task|runner|k|seed" -> accuracy
const put = (r, runner = r.runner) => acc.set(`${r.task}|${runner}|${r.labels}|${r.seed}`, r.accuracy);
for (const r of readJsonl(join(work, 'results.jsonl'))) if (r.kind === 'run') put(r);
if (also) {
  // Runs of a tagged experiment count as the old model's (e.g. seeds trained with a later build).
  const [file, id] = also.split(':');
  if (existsSync(join(work, file)))
    for (const r of readJsonl(join(work, file)))
      if (r.kind === 'run') put(r, r.runner.replace(`ulmfit-${id}`, `ulmfit-${oldLm}`));
}
const get = (task, runner, k, seed) => acc.get(`${task}|${runner}|${k}|${seed}`);

const cells = new Map();
for (const key of acc.keys()) {
  const [task, runner, k, seed] = key.split('|');
  if (runner !== `ulmfit-${newLm}+nbsvm`) continue;
  const row = {
    newDefaults: get(task, runner, k, seed),
    oldDefaults: baselineAlone.has(`${task}:${k}:${seed}`)
      ? get(task, 'nbsvm', k, seed)
      : get(task, `ulmfit-${oldLm}+nbsvm`, k, seed),
    newNets: get(task, `ulmfit-${newLm}+bag`, k, seed),
    oldNets: get(task, `ulmfit-${oldLm}+bag`, k, seed),
    nbsvm: get(task, 'nbsvm', k, seed),
  };
  if (Object.values(row).some((v) => v === undefined)) continue;
  const id = `${task}|${k}`;
  if (!cells.has(id)) cells.set(id, []);
  cells.get(id).push({ seed: Number(seed), ...row });
}
console.log(
  `| task | labels/class | seeds | defaults, ${newLm} | defaults, ${oldLm} | NB-SVM | networks, ${newLm} | networks, ${oldLm} | ${newLm} vs ${oldLm} (runs better/worse) | ${newLm} vs NB-SVM |`,
);
console.log('|---|---:|---|---:|---:|---:|---:|---:|---|---|');
const tally = (rows, a, b) =>
  `${rows.filter((r) => r[a] > r[b] + 1e-9).length}/${rows.filter((r) => r[a] < r[b] - 1e-9).length}`;
for (const [id, rows] of [...cells].sort()) {
  const [task, k] = id.split('|');
  rows.sort((a, b) => a.seed - b.seed);
  const m = (f) => mean(rows.map((r) => r[f])).toFixed(3);
  console.log(
    `| ${task} | ${k} | ${rows.map((r) => r.seed).join(',')} | ${m('newDefaults')} | ${m('oldDefaults')} | ${m('nbsvm')} | ${m('newNets')} | ${m('oldNets')} | ${tally(rows, 'newDefaults', 'oldDefaults')} | ${tally(rows, 'newDefaults', 'nbsvm')} |`,
  );
}
