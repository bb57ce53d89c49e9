// What the few-label analysis scripts (ensemble-weights.mjs, calibration.mjs, self-training.mjs)
// share: their flags, the saved `classify --json` predictions of a work folder's runs, the
// weighted average of class probabilities, and running this checkout's ulmfit.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { splitValid } from '../../dist/data/lm-stream.js';
import { runNetworksOf } from '../../dist/infer/classify.js';
import { networkSeed } from '../../dist/tasks/recipe-plan.js';
import { chooseEnsemble, tallyHeldOut } from '../../dist/tasks/ensemble-choice.js';
import { Rng } from '../../dist/random.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** train-classifier's validation share when the data has none (config/training.ts CLASSIFIER_DEFAULTS). */
export const VALID_PCT = 0.2;

/**
 * The value after `--name` in the command line, else `fallback`; exits with `usage` when the
 * required `--work` is missing.
 */
export function commandLine(usage) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : args[i + 1];
  };
  if (!flag('--work')) {
    process.stderr.write(`usage: ${usage}\n`);
    process.exit(2);
  }
  return flag;
}

/** The saved runs the command line selects (`--tasks a,b --labels 20,100 --seeds 1,2`), for `savedRuns`. */
export function runFilter(flag) {
  const list = (name, parse) => flag(name)?.split(',').map(parse);
  return { tasks: list('--tasks', String), labels: list('--labels', Number), seeds: list('--seeds', Number) };
}

/** Runs `bin/ulmfit.js` of this checkout and returns its stdout. */
export function ulmfit(argv) {
  return execFileSync(process.execPath, [join(root, 'bin/ulmfit.js'), ...argv], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

/**
 * The `classify --json` rows with class probabilities ({gold, probabilities, …}); undefined when the
 * file is missing. A file still being written may end in part of a line: that part is left out.
 */
export function readPredictions(path) {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((row) => row.probabilities);
}

/** `classify --model <model> <input> --json`, run once and cached in `cache` (its folder made if need be). */
export function predictionsOf(cache, model, input) {
  if (!existsSync(cache)) {
    const predictions = ulmfit(['classify', '--model', model, input, '--json']);
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache, predictions);
  }
  return readPredictions(cache);
}

/** The weighted average of the members' probabilities, row by row (members in the same document order). */
export function average(members, weights) {
  const total = weights.reduce((a, b) => a + b, 0);
  return members[0].map((row, i) => {
    const probabilities = {};
    for (const label of Object.keys(row.probabilities))
      probabilities[label] =
        members.reduce((sum, rows, m) => sum + weights[m] * rows[i].probabilities[label], 0) / total;
    return { gold: row.gold, probabilities };
  });
}

/** The label with the highest probability and that probability. */
export const top = (probabilities) => Object.entries(probabilities).reduce((a, b) => (b[1] > a[1] ? b : a));

/** Share of rows whose top label is the gold one. */
export const accuracy = (rows) => rows.filter((r) => top(r.probabilities)[0] === r.gold).length / rows.length;

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A CSV field, quoted. */
export const csvField = (s) => `"${String(s).replace(/"/g, '""')}"`;

/**
 * The saved runs of one variant (`<work>/runs/<task>/<variant>/<k>-s<seed>/`), task by task in name
 * order, then by labels per class and seed; each with the NB-SVM run of the same labeled set and
 * the task's labeled set and test set.
 * `filter` may restrict tasks, labels per class and seeds.
 */
export function* savedRuns(work, variant, filter = {}) {
  for (const task of readdirSync(join(work, 'runs')).sort()) {
    if (filter.tasks && !filter.tasks.includes(task)) continue;
    const dir = join(work, 'runs', task, variant);
    if (!existsSync(dir)) continue;
    const runs = readdirSync(dir)
      .map((run) => [run, /^(\d+)-s(\d+)$/.exec(run)])
      .filter(([, match]) => match)
      .map(([run, match]) => ({ run, k: Number(match[1]), seed: Number(match[2]) }))
      .sort((a, b) => a.k - b.k || a.seed - b.seed);
    for (const { run, k, seed } of runs) {
      if (filter.labels && !filter.labels.includes(k)) continue;
      if (filter.seeds && !filter.seeds.includes(seed)) continue;
      yield {
        task,
        run,
        k,
        seed,
        runDir: join(dir, run),
        nbsvmDir: join(work, 'runs', task, 'nbsvm', run),
        trainCsv: join(work, 'tasks', task, `train-${k}-s${seed}.csv`),
        testCsv: join(work, 'tasks', task, 'test.csv'),
      };
    }
  }
}

/** Accuracies by task × labels per class × method, printed as a markdown table with run-by-run tallies. */
export class ScoreTable {
  cells = new Map(); // "task k" -> method name -> accuracy of each run, in run order

  add(task, k, name, value) {
    const key = `${task} ${k}`;
    if (!this.cells.has(key)) this.cells.set(key, new Map());
    const row = this.cells.get(key);
    if (!row.has(name)) row.set(name, []);
    row.get(name).push(value);
  }

  /**
   * Writes the mean of each method per task and label count, then how many runs each method won
   * and lost against `reference`. `extra` (optional: header and a cell for "task k") adds a column.
   */
  print(reference, extra) {
    if (this.cells.size === 0) {
      console.error('no saved runs matched (check --work, --lm or --ulmfit, and the filters)');
      process.exit(1);
    }
    const names = [...this.cells.values().next().value.keys()];
    console.log(`| task | labels/class | runs | ${names.join(' | ')} |${extra ? ` ${extra.header} |` : ''}`);
    console.log(`|---|---:|---:|${names.map(() => '---:').join('|')}|${extra ? '---|' : ''}`);
    const tally = new Map(names.map((n) => [n, { better: 0, worse: 0 }]));
    for (const [key, row] of this.cells) {
      const [task, k] = key.split(' ');
      const base = row.get(reference);
      for (const name of names)
        row.get(name).forEach((a, i) => {
          if (a > base[i] + 1e-9) tally.get(name).better += 1;
          else if (a < base[i] - 1e-9) tally.get(name).worse += 1;
        });
      const means = names.map((name) => mean(row.get(name)).toFixed(3)).join(' | ');
      console.log(`| ${task} | ${k} | ${base.length} | ${means} |${extra ? ` ${extra.cell(key)} |` : ''}`);
    }
    const tallies = names.map((n) => `${n} ${tally.get(n).better}/${tally.get(n).worse}`).join('; ');
    console.log(`\nRun by run against ${reference} (better / worse): ${tallies}`);
  }
}

/**
 * The rows of `trainCsv` and the indices of the validation share train-classifier draws from them
 * for `seed` (the same `splitValid` and seed).
 */
export function validShare(trainCsv, seed) {
  const rows = parse(readFileSync(trainCsv, 'utf8'), { columns: true });
  return { rows, valid: splitValid(rows.length, VALID_PCT, new Rng(seed)).valid };
}

/**
 * The validation share train-classifier drew for `seed` from `trainCsv` (`validShare`), classified by `modelDir` and by an NB-SVM trained on that seed's training side (what
 * train-classifier scores before its refit): `{ net, nb }`, rows in the same order. Caches the
 * share's CSV, the NB-SVM and both predictions in `cacheDir`; throws when the NB-SVM did not score
 * exactly these documents.
 */
export function validationPredictions(trainCsv, modelDir, seed, cacheDir) {
  const { rows, valid } = validShare(trainCsv, seed);
  mkdirSync(cacheDir, { recursive: true });
  const validCsv = join(cacheDir, 'valid.csv');
  if (!existsSync(validCsv))
    writeFileSync(
      validCsv,
      ['text,label', ...valid.map((i) => `${csvField(rows[i].text)},${csvField(rows[i].label)}`)].join('\n') +
        '\n',
    );
  const nbDir = join(cacheDir, 'nbsvm-train-side');
  if (!existsSync(join(nbDir, 'meta.json')))
    ulmfit(['baseline', trainCsv, '--out', nbDir, '--seed', String(seed), '--valid-pct', String(VALID_PCT)]);
  const net = predictionsOf(join(cacheDir, 'valid-net.jsonl'), modelDir, validCsv);
  const nb = predictionsOf(join(cacheDir, 'valid-nbsvm.jsonl'), nbDir, validCsv);
  const own = JSON.parse(readFileSync(join(nbDir, 'meta.json'), 'utf8')).training.accuracy;
  if (Math.abs(own - accuracy(nb)) > 1e-9)
    throw new Error(`${modelDir}: the rebuilt validation split is not the one the NB-SVM scored`);
  return { net, nb };
}

/**
 * train-classifier's held-out tally and choice (src/tasks/ensemble-choice.ts) on `{ net, nb }`
 * validation pairs (validationPredictions' rows), NB-SVM counted `weight` times in the average;
 * `strict`: the choice at two standard deviations of the difference instead of one.
 */
export function heldOutChoice(pairs, weight) {
  const labels = Object.keys(pairs[0].nb[0].probabilities);
  const matrix = (rows) => Float32Array.from(rows.flatMap((r) => labels.map((l) => r.probabilities[l])));
  const sets = pairs.map(({ net, nb }) => ({
    networks: matrix(net),
    baseline: matrix(nb),
    gold: Int32Array.from(nb, (r) => labels.indexOf(r.gold)),
  }));
  const tally = tallyHeldOut(sets, labels.length, weight);
  const wins = tally.baselineRightEnsembleWrong;
  const losses = tally.ensembleRightBaselineWrong;
  const strict = wins > losses && wins - losses >= 2 * Math.sqrt(wins + losses) ? 'baseline' : 'average';
  return { tally, choice: chooseEnsemble(tally, weight), strict };
}

/**
 * The run directories of the networks train-classifier trained for a saved run (`savedRuns`) of
 * the `ulmfit-<lm>` variant, in order (the first, then networks/2/, …), each with its seed.
 */
export function networksOf(work, lm, run) {
  const firstBest = join(work, 'runs', run.task, `ulmfit-${lm}`, run.run, 'model-best');
  return [firstBest, ...runNetworksOf(firstBest)].map((best, i) => ({
    dir: dirname(best),
    seed: networkSeed(run.seed, i),
  }));
}
