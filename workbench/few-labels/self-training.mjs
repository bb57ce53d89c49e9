#!/usr/bin/env node
// Does self-training on the task's unlabeled text help? For every saved ULMFiT run of a work
// folder: label the task's unlabeled documents (the text its language model was fine-tuned on)
// with what `classify --model <run>` averages (model-best/ + the all-labels NB-SVM ×2), train a
// student NB-SVM on the labeled set plus those pseudo-labels, and score on the test set the
// student alone and the network averaged with it, beside the teacher. Caches beside each run in
// `self-training/`.
//
//   node workbench/few-labels/self-training.mjs --work <work> [--ulmfit ulmfit-en] [--tasks a,b] [--labels 20,100]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  accuracy,
  average,
  commandLine,
  csvField,
  predictionsOf,
  readPredictions,
  savedRuns,
  runFilter,
  ScoreTable,
  top,
  ulmfit,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/self-training.mjs --work <work> [--ulmfit ulmfit-en] [--tasks a,b] [--labels 20,100] [--seeds 1,2]',
);
const work = flag('--work');
const ulmfitId = flag('--ulmfit', 'ulmfit-en');
const filter = runFilter(flag);
const mix = (a, b, wa, wb) => average([a, b], [wa, wb]);

/** Trains an NB-SVM on `rows` ({text,label}) in `dir` and returns its test predictions. */
function student(dir, rows, testCsv) {
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, 'train.csv');
  if (!existsSync(join(dir, 'model', 'meta.json'))) {
    writeFileSync(
      csv,
      ['text,label', ...rows.map((r) => `${csvField(r.text)},${csvField(r.label)}`)].join('\n') + '\n',
    );
    ulmfit(['baseline', csv, '--out', join(dir, 'model'), '--valid-pct', '0']);
  }
  return predictionsOf(join(dir, 'test-predictions.jsonl'), join(dir, 'model'), testCsv);
}

const variants = {
  'all pseudo-labels': (pseudo) => pseudo,
  'confident half': (pseudo) => {
    // Per predicted class, the more confident half: no class is crowded out by another's confidence.
    const kept = [];
    for (const label of new Set(pseudo.map((p) => p.label))) {
      const mine = pseudo.filter((p) => p.label === label).sort((a, b) => b.confidence - a.confidence);
      kept.push(...mine.slice(0, Math.ceil(mine.length / 2)));
    }
    return kept;
  },
};

const table = new ScoreTable();
const unlabeledTexts = new Map(); // task -> its unlabeled documents' texts
for (const { task, k, seed, runDir, nbsvmDir: nbDir } of savedRuns(work, ulmfitId, filter)) {
  const unlabeledPath = join(work, 'tasks', task, 'unlabeled.jsonl');
  if (!unlabeledTexts.has(task))
    unlabeledTexts.set(
      task,
      readFileSync(unlabeledPath, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).text),
    );
  const unlabeled = unlabeledTexts.get(task);
  const testCsv = join(work, 'tasks', task, 'test.csv');
  if (!existsSync(join(nbDir, 'meta.json')) || !existsSync(join(runDir, 'model-best'))) continue;
  const cache = join(runDir, 'self-training');
  mkdirSync(cache, { recursive: true });
  const started = performance.now();
  const netU = predictionsOf(join(cache, 'unlabeled-net.jsonl'), join(runDir, 'model-best'), unlabeledPath);
  const nbU = predictionsOf(join(cache, 'unlabeled-nbsvm.jsonl'), nbDir, unlabeledPath);
  const teacherU = mix(netU, nbU, 1, 2);
  const labeled = parse(readFileSync(join(work, 'tasks', task, `train-${k}-s${seed}.csv`), 'utf8'), {
    columns: true,
  });
  const labeledTexts = new Set(labeled.map((r) => r.text.trim()));
  const pseudo = unlabeled
    .map((text, i) => {
      const [label, confidence] = top(teacherU[i].probabilities);
      return { text, label, confidence };
    })
    .filter((p) => !labeledTexts.has(p.text.trim()));
  const netT = readPredictions(join(runDir, 'test-predictions.jsonl'));
  const nbT = readPredictions(join(nbDir, 'test-predictions.jsonl'));
  const key = `${task} ${k}`;
  table.add(task, k, 'net alone', accuracy(netT));
  table.add(task, k, 'NB-SVM', accuracy(nbT));
  table.add(task, k, 'teacher: net + NB-SVM ×2', accuracy(mix(netT, nbT, 1, 2)));
  for (const [name, select] of Object.entries(variants)) {
    const chosen = select(pseudo);
    const studentT = student(join(cache, name.replace(/ /g, '-')), [...labeled, ...chosen], testCsv);
    table.add(task, k, `student (${name})`, accuracy(studentT));
    table.add(task, k, `net + student ×2 (${name})`, accuracy(mix(netT, studentT, 1, 2)));
  }
  process.stderr.write(
    `${key} s${seed}: ${pseudo.length} pseudo-labels, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
}
table.print('teacher: net + NB-SVM ×2');
