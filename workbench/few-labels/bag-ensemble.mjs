#!/usr/bin/env node
// Would a bag of networks help the defaults? Several ULMFiT classifiers trained on the same
// labeled set with different training seeds (so a different validation fifth, initialization and
// batch order: `run.mjs --tag bag1001 --ulmfit-args "--seed 1001" --runners ulmfit`) have their
// saved test probabilities averaged, then averaged with NB-SVM (×2, as the defaults weigh it).
// Prints mean test accuracy beside the defaults (the first member + NB-SVM ×2), with run-by-run
// tallies. Trains and classifies nothing.
//
//   node workbench/few-labels/bag-ensemble.mjs --work <work> --members ulmfit-en,ulmfit-en@bag1001,… [--labels 20,100] [--seeds 1,2,3] [--tasks a,b]
import { join } from 'node:path';
import {
  accuracy,
  average,
  commandLine,
  mean,
  readPredictions,
  runFilter,
  savedRuns,
  ScoreTable,
} from './saved-runs.mjs';

const flag = commandLine(
  'node workbench/few-labels/bag-ensemble.mjs --work <work> --members <variant>,<variant>,… [--labels 20,100] [--seeds 1,2,3] [--tasks a,b]',
);
const work = flag('--work');
const members = flag('--members', '').split(',').filter(Boolean);
if (members.length < 2) throw new Error('--members: at least two ulmfit variants, the defaults first');
const filter = runFilter(flag);

const table = new ScoreTable();
for (const { task, run, k, runDir, nbsvmDir } of savedRuns(work, members[0], filter)) {
  const networks = [
    readPredictions(join(runDir, 'test-predictions.jsonl')),
    ...members
      .slice(1)
      .map((m) => readPredictions(join(work, 'runs', task, m, run, 'test-predictions.jsonl'))),
  ];
  const nbsvm = readPredictions(join(nbsvmDir, 'test-predictions.jsonl'));
  // A member without this run yet, or one still being classified (fewer rows so far), is skipped.
  if (!nbsvm || networks.some((n) => !n || n.length !== nbsvm.length)) continue;
  for (const n of networks)
    if (n.some((row, i) => row.gold !== nbsvm[i].gold))
      throw new Error(`${task} ${run}: the members' test rows are not in the same order`);
  table.add(task, k, 'defaults (net + NB×2)', accuracy(average([networks[0], nbsvm], [1, 2])));
  table.add(task, k, 'NB-SVM', accuracy(nbsvm));
  table.add(task, k, 'network', accuracy(networks[0]));
  // What one network gives on average over the training seeds (the first member's is no better than another's).
  table.add(task, k, 'one network (mean over seeds)', mean(networks.map(accuracy)));
  table.add(
    task,
    k,
    'one network + NB×2 (mean over seeds)',
    mean(networks.map((n) => accuracy(average([n, nbsvm], [1, 2])))),
  );
  for (let size = 2; size <= networks.length; size++) {
    const bag = average(networks.slice(0, size), new Array(size).fill(1));
    table.add(task, k, `bag of ${size}`, accuracy(bag));
    table.add(task, k, `bag of ${size} + NB×2`, accuracy(average([bag, nbsvm], [1, 2])));
  }
}
table.print('defaults (net + NB×2)');
